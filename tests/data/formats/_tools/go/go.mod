module loghaul.test/formats

go 1.22

require (
	github.com/sirupsen/logrus v1.9.0
	go.uber.org/zap v1.23.0
	k8s.io/klog/v2 v2.80.1
)

require (
	github.com/go-logr/logr v1.2.0 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.6.0 // indirect
	golang.org/x/sys v0.0.0-20220715151400-c0bba94af5f8 // indirect
)

replace (
	github.com/benbjohnson/clock => ./stub/github.com_benbjohnson_clock
	github.com/davecgh/go-spew => ./stub/github.com_davecgh_go-spew
	github.com/go-logr/logr => /usr/share/gocode/src/github.com/go-logr/logr
	github.com/pkg/errors => ./stub/github.com_pkg_errors
	github.com/pmezard/go-difflib => ./stub/github.com_pmezard_go-difflib
	github.com/sirupsen/logrus => /usr/share/gocode/src/github.com/sirupsen/logrus
	github.com/stretchr/objx => ./stub/github.com_stretchr_objx
	github.com/stretchr/testify => ./stub/github.com_stretchr_testify
	go.uber.org/atomic => /usr/share/gocode/src/go.uber.org/atomic
	go.uber.org/goleak => ./stub/go.uber.org_goleak
	go.uber.org/multierr => /usr/share/gocode/src/go.uber.org/multierr
	go.uber.org/zap => /usr/share/gocode/src/go.uber.org/zap
	golang.org/x/sys => /usr/share/gocode/src/golang.org/x/sys
	gopkg.in/check.v1 => ./stub/check
	gopkg.in/yaml.v3 => ./stub/gopkg.in_yaml.v3
	k8s.io/klog/v2 => /usr/share/gocode/src/k8s.io/klog
)
