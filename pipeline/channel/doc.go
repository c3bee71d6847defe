// Package channel is the link-level simulator of Multi-SC: it carries the
// captions (digital) and the object slice (analog) over AWGN and Rayleigh
// channels, and gives the BER curves the paper compares against.
//
// Chain: bits (MSB first) → CRC-32 frames → IEEE 802.11n LDPC (or uncoded)
// → optional per-codeword bit interleaver → Gray BPSK/QPSK/16-QAM/64-QAM →
// flat channel → one-tap equalizer with perfect CSI → max-log LLRs scaled by
// |h|² → layered normalized min-sum decoder → CRC check.
//
// # SNR
//
// Every SNR in this package is Es/N0 in dB per complex channel symbol:
// constellations and analog symbols have unit average energy (Es = 1), and
// the noise is CN(0, N0) with N0 = 10^(−SNR/10), N0/2 per real dimension.
// BPSK uses only the real dimension, so for BPSK Eb/N0 = Es/N0. Eb/N0 is per
// information bit: Eb/N0 = Es/N0 − 10·log10(R·m) for code rate R (1 uncoded)
// and m bits per symbol (EbN0, EsN0). The CRC overhead of the text API is
// not counted in R. Rayleigh fading h ~ CN(0,1) has E|h|² = 1, so the SNR is
// the average received SNR; it is held for Coherence symbols (blocks aligned
// to the first symbol of a transmission or batch); Coherence 1 is fast
// fading.
//
// # Segmentation and padding
//
// A message of B bits is cut into ceil(B/D) frames of D data bits (none for
// B = 0), D = K − 32 for an LDPC code with K information bits and
// D = 1944 − 32 uncoded; the last frame is padded with zero bits. Each frame
// carries its D data bits followed by the CRC-32 (IEEE) of those bits
// packed MSB first, so one frame is exactly one codeword. The codewords are
// sent back to back; if the total is not a multiple of the bits per symbol,
// zero bits fill the last symbol (never for LDPC codewords, whose lengths
// are multiples of 1, 2, 4 and 6). The receiver knows B (as from a
// protected header) and drops all padding.
//
// # UTF-8 repair
//
// Received bytes are made valid UTF-8 by RepairUTF8: each byte that does not
// begin a valid, complete, shortest-form sequence becomes U+FFFD, one per
// bad byte, and decoding resumes at the next byte. Valid sequences are kept,
// including control characters; the byte count of the message is fixed, so
// bit errors show up as substituted ("misspelled") characters.
//
// # Determinism
//
// Every random draw comes from a math/rand/v2 PCG seeded explicitly:
// SimulateBER batch b at SNR s uses PCG(seed ⊕ mix(s), b), SendText and
// SendAnalog use PCG(seed, fixed stream). Equal seeds give equal bits on
// every machine and for any number of worker goroutines.
package channel
