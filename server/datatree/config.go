package datatree

// InitConfig sets /zookeeper/config to an ensemble member's membership (the QuorumVerifier
// string) as Apache ZooKeeper does at start-up and after a reload (initConfigInZKDatabase):
// no txn, data version -1, mzxid the config's version.
// A configuration a reconfig txn set later than version is kept.
func (t *Tree) InitConfig(data []byte, version, timeMs int64) {
	t.Lock()
	defer t.Unlock()
	if n := t.Get(ConfigPath); n != nil && n.Stat.Mzxid > version {
		return
	}
	t.setData(ConfigPath, data, -1, version, timeMs, nil)
}
