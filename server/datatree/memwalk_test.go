package datatree

func walkForMemTest(t *Tree) {
	v := t.CopyForSnapshot()
	var b []byte
	v.EachNode(func(n *SnapNode) { b = append(b, n.Path...); b = append(b, n.Data...) }, func() { b = b[:0] })
}
