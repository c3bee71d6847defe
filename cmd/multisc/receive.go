package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/imageio"
)

// receiveReport is NAME.receive.json beside each reconstruction.
type receiveReport struct {
	Payload   string                   `json:"payload"`
	ImageID   string                   `json:"image_id"`
	Method    string                   `json:"method"`
	Channel   string                   `json:"channel"`
	SNR       float64                  `json:"snr_db"`
	Seed      uint64                   `json:"seed"` // the row seed (RowSeed)
	Out       string                   `json:"out"`
	Captions  []pipeline.CaptionRecord `json:"captions"`
	SliceSent bool                     `json:"slice_sent"`
	SliceLost bool                     `json:"slice_lost,omitempty"`
	BitsText  int64                    `json:"bits_text"`
	BitsSlice int64                    `json:"bits_slice"`
	Seconds   map[string]float64       `json:"seconds"`
}

func init() {
	var sf systemFlags
	register(&command{
		Name:  "receive",
		Short: "the link and receiver: reconstruct images from payload files",
		Usage: "PAYLOAD... --channel awgn|rayleigh --snr DB --models DIR --out DIR [--seed S]",
		Long: `Passes each payload file of 'multisc transmit' through the channel (every
caption on its own channel, the slice on its own) at --snr (Es/N0 in dB),
corrects the captions with BART and draws the reconstruction with SD 1.5 +
IP-Adapter (vlm-csc: text only). Writes DIR/NAME.png and DIR/NAME.receive.json
(captions sent / received / corrected, bit errors, seconds). The row seed is
RowSeed(--seed, key) with the dataset, image id and method the payload
carries, so transmit + receive with the same --seed equals 'multisc run'.`,
		Flags: func(fs *pflag.FlagSet) { sf.add(fs, flagsReceive) },
		Run: func(env *Env, args []string) error {
			if len(args) == 0 {
				return badInput("receive: give at least one payload file")
			}
			names, err := stems(args)
			if err != nil {
				return err
			}
			var txs []*pipeline.Transmission
			methods := []string{}
			for _, a := range args {
				p, err := pipeline.ReadPayload(a)
				if err != nil {
					return err
				}
				tx, err := pipeline.TransmissionFromPayload(a, p)
				if err != nil {
					return err
				}
				txs = append(txs, tx)
				methods = append(methods, p.Method)
			}
			s, err := sf.open(env, flagsReceive, methods, false)
			if err != nil {
				return err
			}
			defer s.Close()
			for i, tx := range txs {
				p := &tx.Payload
				seed := pipeline.RowSeed(sf.seed, pipeline.Key{Dataset: p.Dataset, ImageID: p.ImageID, Method: p.Method, Channel: sf.channel, SNR: sf.snr})
				rx, err := s.Receive(tx, sf.channel, sf.snr, seed)
				if err != nil {
					return err
				}
				out := filepath.Join(sf.out, names[i]+".png")
				if err := imageio.SavePNG(out, rx.Image); err != nil {
					return outputError("--out", err)
				}
				r := receiveReport{Payload: args[i], ImageID: p.ImageID, Method: p.Method, Channel: sf.channel, SNR: sf.snr, Seed: seed,
					Out: out, Captions: rx.Captions, SliceSent: rx.Link.SliceSent, SliceLost: rx.Link.SliceLost,
					BitsText: p.TextBits(), BitsSlice: p.SliceBits(), Seconds: rx.Seconds}
				if err := writeJSON(filepath.Join(sf.out, names[i]+".receive.json"), r); err != nil {
					return outputError("--out", err)
				}
				fmt.Fprintf(env.Stdout, "%s: %s %g dB -> %s\n", args[i], sf.channel, sf.snr, out)
			}
			return nil
		},
	})
}
