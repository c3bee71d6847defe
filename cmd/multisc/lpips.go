package main

import (
	"image"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/lpips"
)

// lpipsDistance scores two equally sized images with the LPIPS model file at
// path (models/lpips), on the --device and --threads of env.
func lpipsDistance(env *Env, path string, ref, img image.Image) (float64, error) {
	m, err := lpips.Open(path, bindings.Options{Device: env.Device, Threads: env.Threads})
	if err != nil {
		return 0, err
	}
	defer m.Close()
	d, err := m.Distance(ref, img)
	if err != nil {
		return 0, badInput("--lpips %s: %v", path, err)
	}
	return d, nil
}
