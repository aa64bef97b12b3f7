package datatree

func walkForMemTest(t *Tree) {
	v := t.CopyForSnapshot()
	_ = v
}
