//! Atomic writes on a really full file system (a small tmpfs): the error is
//! recognised as a full disk, the old content stays, and no temporary file
//! is left to hold the space.

use loghaul_durable::{is_full_io, temporary_path, write_atomically};
use loghaul_testkit::Tmpfs;

#[test]
fn a_full_tmpfs_refuses_cleanly_and_takes_the_write_once_space_returns() {
    let tmpfs = Tmpfs::mount("1m");
    let path = tmpfs.path().join("checkpoints.json");
    write_atomically(&path, b"old").expect("room at first");
    let ballast = tmpfs.fill();
    let big = vec![b'x'; 64 << 10];
    let error = write_atomically(&path, &big).expect_err("no room");
    assert!(is_full_io(&error), "not seen as a full disk: {error}");
    assert!(
        error.to_string().contains("checkpoints.json.tmp"),
        "{error}"
    );
    assert_eq!(std::fs::read(&path).expect("read"), b"old");
    assert!(
        !temporary_path(&path).exists(),
        "the temporary file is gone"
    );
    std::fs::remove_file(ballast).expect("give the space back");
    write_atomically(&path, &big).expect("room again");
    assert_eq!(std::fs::read(&path).expect("read").len(), big.len());
}
