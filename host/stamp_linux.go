package main

import (
	"io/fs"
	"syscall"
)

// sysStamp is fi's inode and change time, for fileStamp.
func sysStamp(fi fs.FileInfo) (ino, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Ino), st.Ctim.Nano()
	}
	return 0, 0 // an embedded file: it never changes
}
