// crosscheck: a small driver of llama.cpp's own library (libllama + mtmd),
// for Multi-SC's LLaVA cross-check and benchmarks. Developer tool only:
// never part of Multi-SC's build or CI (see build.sh).
//
// usage: crosscheck LM.gguf MMPROJ.gguf IMAGE.rgb W H PROMPT N_PREDICT THREADS LOGITS_OUT [REPEAT [FA]]
//   FA: flash attention for LM and tower: auto (llama.cpp's default), on, off.
//   IMAGE.rgb: W*H*3 bytes, 8-bit RGB rows. PROMPT holds <__media__> once.
//   Prints the prompt token ids, the greedy tokens (temperature 0, stop at
//   end-of-generation), timings (median over REPEAT runs) as JSON, and
//   writes the logits of the first generated token (f32) to LOGITS_OUT.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "llama.h"
#include "mtmd.h"

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

static void quiet(enum ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char ** argv) {
    if (argc < 10) {
        fprintf(stderr, "usage: %s LM MMPROJ IMAGE.rgb W H PROMPT N_PREDICT THREADS LOGITS_OUT [REPEAT]\n", argv[0]);
        return 2;
    }
    const int W = atoi(argv[4]), H = atoi(argv[5]), n_predict = atoi(argv[7]), threads = atoi(argv[8]);
    const int repeat = argc > 10 ? atoi(argv[10]) : 1;
    const std::string fa = argc > 11 ? argv[11] : "auto";
    const enum llama_flash_attn_type fat = fa == "on" ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                                         : fa == "off" ? LLAMA_FLASH_ATTN_TYPE_DISABLED : LLAMA_FLASH_ATTN_TYPE_AUTO;
    llama_log_set(quiet, nullptr);
    mtmd_log_set(quiet, nullptr);
    llama_backend_init();

    std::vector<unsigned char> rgb((size_t) W * H * 3);
    FILE * f = fopen(argv[3], "rb");
    if (!f || fread(rgb.data(), 1, rgb.size(), f) != rgb.size()) { fprintf(stderr, "cannot read %s\n", argv[3]); return 2; }
    fclose(f);

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);

    mtmd_context_params vp = mtmd_context_params_default();
    vp.use_gpu = false;
    vp.print_timings = false;
    vp.n_threads = threads;
    vp.warmup = false;
    vp.flash_attn_type = fat;
    mtmd_context * mctx = mtmd_init_from_file(argv[2], model, vp);
    if (!mctx) { fprintf(stderr, "cannot load %s\n", argv[2]); return 1; }

    std::vector<double> t_enc, t_prompt, t_dec;
    std::vector<llama_token> prompt_ids, out_ids;
    std::vector<float> first_logits;
    int n_prompt = 0;
    for (int rep = 0; rep < repeat; rep++) {
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = 4096;
        cp.n_batch = 2048;
        cp.n_ubatch = 2048;
        cp.n_threads = cp.n_threads_batch = threads;
        cp.no_perf = true;
        cp.flash_attn_type = fat;
        llama_context * ctx = llama_init_from_model(model, cp);
        const int n_embd = llama_model_n_embd(model);

        mtmd_bitmap * bmp = mtmd_bitmap_init(W, H, rgb.data());
        mtmd_input_text text = {argv[6], /*add_special*/ false, /*parse_special*/ true};
        mtmd_input_chunks * chunks = mtmd_input_chunks_init();
        const mtmd_bitmap * bitmaps[1] = {bmp};
        if (mtmd_tokenize(mctx, chunks, &text, bitmaps, 1) != 0) { fprintf(stderr, "mtmd_tokenize failed\n"); return 1; }

        double enc = 0, t0 = now();
        llama_pos pos = 0;
        prompt_ids.clear();
        for (size_t i = 0; i < mtmd_input_chunks_size(chunks); i++) {
            const mtmd_input_chunk * ch = mtmd_input_chunks_get(chunks, i);
            const bool last = i + 1 == mtmd_input_chunks_size(chunks);
            if (mtmd_input_chunk_get_type(ch) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
                size_t n = 0;
                const llama_token * toks = mtmd_input_chunk_get_tokens_text(ch, &n);
                llama_batch b = llama_batch_init(n, 0, 1);
                for (size_t j = 0; j < n; j++) {
                    b.token[j] = toks[j]; b.pos[j] = pos++; b.n_seq_id[j] = 1; b.seq_id[j][0] = 0;
                    b.logits[j] = last && j + 1 == n;
                    prompt_ids.push_back(toks[j]);
                }
                b.n_tokens = n;
                if (llama_decode(ctx, b) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
                llama_batch_free(b);
            } else {
                double e0 = now();
                if (mtmd_encode_chunk(mctx, ch) != 0) { fprintf(stderr, "encode failed\n"); return 1; }
                enc += now() - e0;
                const float * embd = mtmd_get_output_embd(mctx);
                const size_t n = mtmd_input_chunk_get_n_tokens(ch);
                llama_batch b = llama_batch_init(n, n_embd, 1);
                memcpy(b.embd, embd, sizeof(float) * n * n_embd);
                for (size_t j = 0; j < n; j++) {
                    b.pos[j] = pos++; b.n_seq_id[j] = 1; b.seq_id[j][0] = 0; b.logits[j] = last && j + 1 == n;
                    prompt_ids.push_back(-1);
                }
                b.n_tokens = n;
                if (llama_decode(ctx, b) != 0) { fprintf(stderr, "decode (image) failed\n"); return 1; }
                llama_batch_free(b);
            }
        }
        n_prompt = pos;
        t_enc.push_back(enc);
        t_prompt.push_back(now() - t0 - enc);

        const int n_vocab = llama_vocab_n_tokens(vocab);
        const float * logits = llama_get_logits_ith(ctx, -1);
        first_logits.assign(logits, logits + n_vocab);
        out_ids.clear();
        double d0 = now();
        int n_dec = 0;
        for (int k = 0; k < n_predict; k++) {
            const float * l = llama_get_logits_ith(ctx, -1);
            llama_token best = 0;
            for (int v = 1; v < n_vocab; v++) if (l[v] > l[best]) best = v;
            if (llama_vocab_is_eog(vocab, best)) break;
            out_ids.push_back(best);
            if ((int) out_ids.size() == n_predict) break;
            llama_batch b = llama_batch_get_one(&best, 1);
            if (llama_decode(ctx, b) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
            n_dec++;
        }
        t_dec.push_back(n_dec ? (now() - d0) / n_dec : 0);
        mtmd_input_chunks_free(chunks);
        mtmd_bitmap_free(bmp);
        llama_free(ctx);
    }

    FILE * lf = fopen(argv[9], "wb");
    fwrite(first_logits.data(), sizeof(float), first_logits.size(), lf);
    fclose(lf);
    printf("{\"prompt_ids\": [");
    for (size_t i = 0; i < prompt_ids.size(); i++) printf("%s%d", i ? ", " : "", prompt_ids[i]);
    printf("], \"tokens\": [");
    for (size_t i = 0; i < out_ids.size(); i++) printf("%s%d", i ? ", " : "", out_ids[i]);
    printf("], \"n_prompt\": %d, \"encode_s\": %.6f, \"prompt_s\": %.6f, \"prompt_tok_s\": %.3f, \"decode_s_per_tok\": %.6f, \"decode_tok_s\": %.3f, \"repeat\": %d}\n",
           n_prompt, median(t_enc), median(t_prompt), n_prompt / median(t_prompt), median(t_dec),
           median(t_dec) > 0 ? 1 / median(t_dec) : 0, repeat);
    mtmd_free(mctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
