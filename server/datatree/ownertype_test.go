package datatree

import (
	"math"
	"testing"
)

// EphemeralType.get for the three settings.
func TestOwnerType(t *testing.T) {
	u := func(v uint64) int64 { return int64(v) }
	cases := []struct {
		owner                   int64
		basic, extended, ext353 OwnerKind
	}{
		{0, OwnerNone, OwnerNone, OwnerNone},
		{math.MinInt64, OwnerContainer, OwnerContainer, OwnerContainer},
		{1<<56 | 5, OwnerSession, OwnerSession, OwnerSession},
		{u(0xFF00000000001388), OwnerSession, OwnerTTL, OwnerTTL},     // 3.5.4+ TTL of 5 s
		{u(0x8000000000001388), OwnerSession, OwnerSession, OwnerTTL}, // 3.5.3 TTL of 5 s
		{u(0xC8000000000F4240), OwnerSession, OwnerSession, OwnerTTL}, // a session of server 200
	}
	for _, c := range cases {
		for _, k := range []struct {
			types OwnerTypes
			want  OwnerKind
		}{{OwnersBasic, c.basic}, {OwnersExtended, c.extended}, {OwnersExtended353, c.ext353}} {
			tr := &Tree{ExtendedTypes: k.types}
			if got := tr.OwnerType(c.owner); got != k.want {
				t.Errorf("owner %#x, types %d: %d, want %d", uint64(c.owner), k.types, got, k.want)
			}
		}
	}
	if OwnerTypesFor(false, true) != OwnersBasic || OwnerTypesFor(true, false) != OwnersExtended || OwnerTypesFor(true, true) != OwnersExtended353 {
		t.Error("OwnerTypesFor")
	}
	if TTLOf(u(0x8000000000001388)) != 5000 {
		t.Errorf("TTLOf a 3.5.3 owner: %d", TTLOf(u(0x8000000000001388)))
	}
}
