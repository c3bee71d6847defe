package main

import "image"

// lpipsDistance scores two equally sized images with the LPIPS model file at
// path. Wired to models/lpips once that port lands.
func lpipsDistance(env *Env, path string, ref, img image.Image) (float64, error) {
	return 0, badInput("--lpips %s: LPIPS is not built into this binary yet", path)
}
