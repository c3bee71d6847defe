package eval

import "os/exec"

var execCommand = exec.Command
