package composefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type service struct {
	Image     string         `yaml:"image"`
	Command   []string       `yaml:"command"`
	Ports     []string       `yaml:"ports"`
	Volumes   []string       `yaml:"volumes"`
	DependsOn map[string]any `yaml:"depends_on"`
}

// TestComposeFile checks what godwit needs of each server: the image, ROW
// binlog with full row images, GTID, unique server ids, a loopback port,
// init scripts that exist, and each replica depending on its primary.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]service `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	want := map[string]struct{ image, primary, gtid string }{
		"mysql-primary":   {"mysql:9.7", "", "--gtid-mode=ON"},
		"mysql-replica":   {"mysql:9.7", "mysql-primary", "--gtid-mode=ON"},
		"mariadb-primary": {"mariadb:11.8", "", "--gtid-strict-mode=ON"},
		"mariadb-replica": {"mariadb:11.8", "mariadb-primary", "--gtid-strict-mode=ON"},
	}
	ids, ports := map[string]bool{}, map[string]bool{}
	for name, w := range want {
		s, ok := f.Services[name]
		if !ok {
			t.Errorf("service %s is missing", name)
			continue
		}
		if s.Image != w.image {
			t.Errorf("%s: image %q, want %q", name, s.Image, w.image)
		}
		cmd := strings.Join(s.Command, " ")
		for _, opt := range []string{"--binlog-format=ROW", "--binlog-row-image=FULL", "--log-bin", w.gtid} {
			if !strings.Contains(cmd, opt) {
				t.Errorf("%s: command lacks %s", name, opt)
			}
		}
		for _, arg := range s.Command {
			if id, ok := strings.CutPrefix(arg, "--server-id="); ok {
				if ids[id] {
					t.Errorf("%s: server id %s is used twice", name, id)
				}
				ids[id] = true
			}
		}
		if len(s.Ports) != 1 || !strings.HasPrefix(s.Ports[0], "127.0.0.1:") || ports[s.Ports[0]] {
			t.Errorf("%s: ports %v, want one loopback port of its own", name, s.Ports)
		}
		for _, p := range s.Ports {
			ports[p] = true
		}
		for _, v := range s.Volumes {
			host := strings.SplitN(v, ":", 2)[0]
			if _, err := os.Stat(filepath.Join("../..", host)); err != nil {
				t.Errorf("%s: volume %s: %v", name, v, err)
			}
		}
		if w.primary != "" {
			if _, ok := s.DependsOn[w.primary]; !ok {
				t.Errorf("%s: does not depend on %s", name, w.primary)
			}
			if !strings.Contains(cmd, "--read-only=ON") {
				t.Errorf("%s: a replica should be read-only", name)
			}
		}
	}
	if len(ids) != len(want) {
		t.Errorf("server ids %v: want %d distinct", ids, len(want))
	}
}
