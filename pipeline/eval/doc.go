// Package eval runs the paper's experiments: a sweep of a dataset over
// methods × channels × SNRs through the Multi-SC system, one JSONL row
// (pipeline.Record) per image × method × channel × SNR, and the report that
// turns the rows into the paper's figures and its Table II.
//
// # The sweep
//
// The plan is samples × methods × channels × SNRs, in the order image →
// method → channel → SNR. The transmitter's work (slice, split, captions)
// does not depend on the channel or the SNR, so it runs once per image and
// method and every channel × SNR row reuses it (Record.Reused is set on all
// rows but the first; the transmitter's per-stage seconds are in every row,
// copied from the first where the runner leaves them out).
// Seeds: the transmitter's is pipeline.TransmitSeed(seed, dataset, image,
// method), a row's is pipeline.RowSeed(seed, key), so no row depends on
// which rows ran before it, on resuming or on sharding.
//
// A sweep folder DIR holds:
//
//	sweep.json            the parameters and the image ids in order (Params)
//	rows.jsonl            one Record per line (unsharded run, or merge output)
//	rows-K-of-N.jsonl     the rows of shard K of N
//
// Each row is appended and fsynced when computed. Running the same command
// again resumes: rows present are skipped, and a torn last line (the process
// was killed mid-write) is cut off and recomputed; no row is ever written
// twice. A run with other parameters into the same DIR is refused, naming
// the first differing flag. An image that fails to load (or that the system
// refuses as bad input) gives rows with Error set and the sweep goes on;
// any other runner error stops it, keeping the rows written. JSON cannot
// hold a non-finite number: such a metric (a PSNR of +Inf) is written as
// absent, like a metric not computed.
//
// Sharding (--shard K/N) keeps the images whose index i (from 0, dataset
// order) has i mod N = K−1, so all rows of an image, and the reuse of its
// transmission, stay in one shard. Merge joins the shards' files (from one
// DIR or several) into rows.jsonl in plan order; it refuses two different
// rows for one key and equals an unsharded run's rows up to Canonical
// (Seconds, PeakRSS and Reused zeroed).
//
// # The report
//
// WriteReport reads a sweep folder's rows (rows.jsonl and any shard files,
// as Load) and writes:
//
//	means.csv, means.md     mean, sd, 95% CI half-width (Student t, n−1 df) and n
//	                        per dataset × channel × method × SNR and metric
//	                        (cosine, lpips, psnr, ssim, bleu_received,
//	                        bleu_corrected, bleu_sent_ref, bleu_corrected_ref)
//	points.csv              the numbers the figures draw
//	cosine_DS_CH.{png,svg}  cosine similarity vs SNR, one curve per method,
//	lpips_DS_CH.{png,svg}   LPIPS vs SNR; error bars are the 95% CI
//	table2.csv, table2.md   Table II analogue: mean seconds per stage and
//	                        total per dataset × method
//	errors.csv              the rows with Error set
//
// Rows with Error set are counted (means.csv's error_rows) and left out of
// every mean.
package eval
