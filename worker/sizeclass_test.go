package worker

import (
	"testing"
	"unsafe"
)

// Every processed job allocates one delivery. At 760 bytes it fits the
// allocator's 768-byte size class with its header; a field more (here or in
// fetch.Msg, running, finishing or naq.Result) moves every job to the
// 896-byte class, which measured about 5,000 collector instructions a job
// dearer. This test says so before a benchmark has to.
func TestDeliveryKeepsItsSizeClass(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	if size := unsafe.Sizeof(delivery{}); size > 760 {
		t.Fatalf("delivery is %d bytes, more than the 760 that keep it in the 768-byte size class", size)
	}
}
