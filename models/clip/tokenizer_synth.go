package clip

// TokenizerSynthVocab returns a made-up CLIP-layout vocabulary with n merges,
// for seeded test and benchmark models (pretrained vocabularies cannot be
// downloaded on build machines): the 256 byte units, the same with "</w>",
// then merges building lower-case letter strings breadth first ("a b",
// "a b</w>", ..., "ab c", ...), then the two special tokens. With n = 48894
// it has CLIP ViT-L/14's 49408 entries.
func TokenizerSynthVocab(n int) (tokens, merges []string) {
	units := TokenizerUnitOrder()
	tokens = append(tokens, units...)
	for _, u := range units {
		tokens = append(tokens, u+TokenizerWordEnd)
	}
	prefixes := []string{}
	for c := 'a'; c <= 'z'; c++ {
		prefixes = append(prefixes, string(c))
	}
	for len(merges) < n {
		var next []string
		for _, p := range prefixes {
			for c := 'a'; c <= 'z' && len(merges) < n; c++ {
				merges = append(merges, p+" "+string(c))
				tokens = append(tokens, p+string(c))
				next = append(next, p+string(c))
				if len(merges) < n {
					merges = append(merges, p+" "+string(c)+TokenizerWordEnd)
					tokens = append(tokens, p+string(c)+TokenizerWordEnd)
				}
			}
		}
		prefixes = next
	}
	tokens = append(tokens, TokenizerBOS, TokenizerEOS)
	return tokens, merges
}
