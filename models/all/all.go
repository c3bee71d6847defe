// Package all links every model architecture into a binary: importing it
// runs each package's init(), which registers the architecture with ollama's
// model registry and with the engine layer (bindings.RegisterArch).
package all

import (
	_ "github.com/multisc/multisc/models/alexnet"
	_ "github.com/multisc/multisc/models/bart"
	_ "github.com/multisc/multisc/models/detr"
	_ "github.com/multisc/multisc/models/fcn"
	_ "github.com/multisc/multisc/models/ipadapter"
	_ "github.com/multisc/multisc/models/llava"
	_ "github.com/multisc/multisc/models/lpips"
	_ "github.com/multisc/multisc/models/resnet"
	_ "github.com/multisc/multisc/models/sd"
)
