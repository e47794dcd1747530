// Package composefile holds the test that keeps docker-compose.yml
// well-formed: Docker does not run on the machines that build godwit, so
// the file's structure is checked here instead of by starting it.
package composefile
