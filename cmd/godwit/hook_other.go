//go:build !unix

package main

import "os/exec"

// killGroup: without process groups, the timeout kills only the shell.
func killGroup(*exec.Cmd) {}
