//! A small tmpfs for full-disk tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a given size mounted on a fresh directory, for a test that
/// fills a disk. Mounting needs root (CI has it); without it the test
/// fails with what to do, it is never skipped. Unmounted on drop, also when
/// the test panics.
pub struct Tmpfs {
    path: PathBuf,
    _owner: Option<tempfile::TempDir>,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=` syntax: `8m`, `512k`).
    pub fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut tmpfs = Self::mount_on(dir.path(), size);
        tmpfs._owner = Some(dir);
        tmpfs
    }

    /// Mounts a tmpfs of `size` on `path` (created if missing).
    pub fn mount_on(path: &Path, size: &str) -> Self {
        std::fs::create_dir_all(path).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0755"))
            .arg("tmpfs")
            .arg(path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a {size} tmpfs on {} failed: full-disk tests need root (CI runs them as root)",
            path.display()
        );
        Tmpfs {
            path: path.to_owned(),
            _owner: None,
        }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Grows (or shrinks) the file system to `size`, keeping its content.
    pub fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "remounting the tmpfs at {size} failed");
    }

    /// Writes a ballast file until the file system is full; returns its path
    /// (delete it to give the space back).
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("ballast");
        let mut file = std::fs::File::create(&path).expect("create ballast");
        let block = vec![0xA5u8; 4096];
        loop {
            match file.write_all(&block) {
                Ok(()) => {}
                Err(error) if error.raw_os_error() == Some(28) => break,
                Err(error) => panic!("filling the tmpfs: {error}"),
            }
        }
        // Fill the last partial block too.
        while file.write_all(&[0xA5]).is_ok() {}
        path
    }

    /// Bytes free now.
    pub fn free_bytes(&self) -> u64 {
        let output = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.path())
            .output()
            .expect("run df");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .nth(1)
            .and_then(|line| line.trim().parse().ok())
            .expect("df prints the free bytes")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            // Still busy (a child holding a file): detach it now, it goes
            // when the last user does.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}
