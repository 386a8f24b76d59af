package values

import "unsafe"

// bytesToFill returns a []byte of length n that the caller must overwrite
// in full before anything reads it: its bytes are whatever the heap last
// held there. make zeroes a new slice first, and for a large one landing
// in memory the heap has used before (which CollectBeforeCopy arranges),
// zeroing costs about as much as the copy that follows: for 64 MiB in
// Chromium on this project's VM, 3.6-10 ms of zeroing beside a 4-6 ms copy.
func bytesToFill(n int) []byte {
	if n <= 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(mallocgc(uintptr(n), nil, false)), n)
}

// mallocgc is the runtime's allocator; the Go team keeps it reachable by
// linkname, with this signature, for the packages that use it
// (go.dev/issue/67401). A nil type allocates memory the collector does not
// scan, as for a []byte; needzero false skips the zeroing.
//
//go:linkname mallocgc runtime.mallocgc
func mallocgc(size uintptr, typ unsafe.Pointer, needzero bool) unsafe.Pointer
