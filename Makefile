# zkgo: a ZooKeeper-compatible coordination service.
GO      ?= go
BIN     := bin
DATADIR ?= $(CURDIR)/data

.PHONY: build run cluster cluster-stop cluster-status test race interop bench bench-storage bench-ensemble fuzz vet fmt clean

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Standalone server on embedded defaults (clientPort 2181, tickTime 2000, dataDir ./data).
run: build
	$(BIN)/zkserver start-foreground --data-dir $(DATADIR)

# A three-node ensemble on this host (ports 2181-2183, 2881-2883, 3881-3883; data in
# ./data/cluster): scripts/pseudo-cluster.sh start|stop|status.
cluster: build
	bash scripts/pseudo-cluster.sh start

cluster-stop:
	bash scripts/pseudo-cluster.sh stop

cluster-status:
	bash scripts/pseudo-cluster.sh status

# Unit, race and integration tests (everything CI must see green).
test: vet
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# Unchanged third-party clients against this server (kazoo's own suite, zkCli.sh, ...).
interop: build
	bash scripts/interop.sh

# Side-by-side benchmark against Apache ZooKeeper 3.8 (Debian package).
bench: build
	bash scripts/bench.sh

# Storage benchmark against Apache ZooKeeper 3.8: fsynced writes, 1M-znode memory/disk,
# kill -9 recovery time (docs/BENCHMARKS.md).
bench-storage: build
	bash scripts/bench-storage.sh

# Three-node ensembles, zkgo against Apache ZooKeeper 3.8 (one at a time): reads spread over
# the nodes, writes, mixed, watch fan-out, and kill -9 of the leader → first acknowledged write
# (docs/bench-ensemble-latest.md).
bench-ensemble: build
	bash scripts/bench-ensemble.sh

# Short fuzz pass over every decoder (FUZZTIME per target).
FUZZTIME ?= 10s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf $(BIN)
