package datatree

// InitConfig sets /zookeeper/config to an ensemble member's membership (the QuorumVerifier
// string) as Apache ZooKeeper does at start-up and after a reload (initConfigInZKDatabase):
// no txn, data version -1, mzxid the config's version.
func (t *Tree) InitConfig(data []byte, version, timeMs int64) {
	t.Lock()
	defer t.Unlock()
	t.setData(ConfigPath, data, -1, version, timeMs, nil)
}
