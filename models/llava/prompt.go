package llava

import (
	"strings"
)

// ImageMarker is where the image tokens go in a query.
const ImageMarker = "<image>"

// PaperQuery is the paper's captioning query (DESIGN.md, eq. 3).
const PaperQuery = ImageMarker + "\nRelay a brief, clear account of the picture shown."

// DefaultSystem is Qwen's default system prompt in ChatML.
const DefaultSystem = "You are a helpful assistant."

// Template names the chat formats the captioner writes.
type Template string

const (
	TemplateChatML Template = "chatml" // <|im_start|>role\n...<|im_end|>\n (Qwen, nanoLLaVA)
	TemplateVicuna Template = "vicuna" // "SYSTEM USER: ... ASSISTANT:" (LLaVA-1.5 conv_vicuna_v1)
)

// DetectTemplate picks the format of a GGUF's tokenizer.chat_template (a
// Jinja program, which this engine does not run): ChatML when it uses
// <|im_start|> or when there is none, Vicuna when it speaks of USER: and
// ASSISTANT:, ChatML otherwise (ok false).
func DetectTemplate(jinja string) (t Template, ok bool) {
	switch {
	case jinja == "" || strings.Contains(jinja, "<|im_start|>"):
		return TemplateChatML, true
	case strings.Contains(jinja, "USER:") && strings.Contains(jinja, "ASSISTANT:"):
		return TemplateVicuna, true
	}
	return TemplateChatML, false
}

// Render puts a query in the template; the result still holds ImageMarker.
func (t Template) Render(system, query string) string {
	if t == TemplateVicuna {
		if system == "" {
			system = "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions."
		}
		return system + " USER: " + query + " ASSISTANT:"
	}
	var b strings.Builder
	if system != "" {
		b.WriteString("<|im_start|>system\n" + system + "<|im_end|>\n")
	}
	b.WriteString("<|im_start|>user\n" + query + "<|im_end|>\n<|im_start|>assistant\n")
	return b.String()
}
