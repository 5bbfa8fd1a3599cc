//! Which files a source's globs name right now.
//!
//! Each glob is split into a literal base directory and a pattern. Only the
//! base directories are walked, as deep as the patterns can reach
//! (unbounded under `**`). Matches are checked against the source's include
//! and exclude sets; an exclude without `/` applies to the file name alone,
//! so `*.gz` excludes `app.log.1.gz` anywhere.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::ShipperError;

/// Whether a file name looks like a rotated copy: logrotate's numbered
/// (`app.log.1`) and dateext (`app.log-20261122`, `-2026112210`,
/// `-2026-11-22`) names, loghaul's own (`app.log.20261122T100000Z`), or one
/// of the configured `extra` globs.
pub fn looks_rotated(path: &Path, extra: Option<&GlobSet>) -> bool {
    static ROTATED: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(name) = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
    else {
        return false;
    };
    let builtin = ROTATED
        .get_or_init(|| {
            regex::Regex::new(r"(\.\d+|-\d{8}(\d{2})?|-\d{4}-\d{2}-\d{2}|\.\d{8}T\d{6}Z(-\d+)?)$")
                .ok()
        })
        .as_ref()
        .is_some_and(|regex| regex.is_match(&name));
    builtin || extra.is_some_and(|globs| globs.is_match(Path::new(&name)))
}

/// The live name a rotated copy was made from: `app.log.1` and
/// `app.log-20261122` give `app.log`. Names only a configured pattern
/// recognises are kept as they are.
pub fn live_name(path: &Path) -> std::path::PathBuf {
    static SUFFIX: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stripped = SUFFIX
        .get_or_init(|| {
            regex::Regex::new(r"(\.\d+|-\d{8}(\d{2})?|-\d{4}-\d{2}-\d{2}|\.\d{8}T\d{6}Z(-\d+)?)$")
                .ok()
        })
        .as_ref()
        .map_or(name.clone(), |regex| regex.replace(&name, "").into_owned());
    path.with_file_name(stripped)
}

/// Why a path a source's globs match is not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A FIFO, socket or device: reading it could block or never end.
    NotRegular,
    /// A symbolic link that leads back to itself.
    SymlinkLoop,
    /// A symbolic link to nothing.
    DanglingSymlink,
    /// Compressed (found by its bytes) and `include_compressed` is off, or
    /// compressed in a way other than gzip.
    Compressed,
    /// It cannot be opened (permissions, most often): tried again with a
    /// growing pause.
    Unreadable,
}

impl SkipReason {
    /// Every reason, in the order metrics list them.
    pub const ALL: [SkipReason; 5] = [
        SkipReason::NotRegular,
        SkipReason::SymlinkLoop,
        SkipReason::DanglingSymlink,
        SkipReason::Compressed,
        SkipReason::Unreadable,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::NotRegular => "not_regular",
            SkipReason::SymlinkLoop => "symlink_loop",
            SkipReason::DanglingSymlink => "dangling_symlink",
            SkipReason::Compressed => "compressed",
            SkipReason::Unreadable => "unreadable",
        }
    }

    /// What it means, for the WARN.
    pub fn explain(self) -> &'static str {
        match self {
            SkipReason::NotRegular => {
                "not a regular file (a FIFO, socket or device): skipped, reading it could block"
            }
            SkipReason::SymlinkLoop => "a symbolic link that loops back to itself: skipped",
            SkipReason::DanglingSymlink => {
                "a symbolic link to nothing: skipped until it leads to a file"
            }
            SkipReason::Compressed => {
                "a compressed file (by its bytes): skipped; set include_compressed to read gzip files once"
            }
            SkipReason::Unreadable => {
                "cannot be opened: skipped, and tried again after 5 s, then a pause that doubles up to 5 minutes"
            }
        }
    }
}

/// What one scan found: the files to read and the matches skipped.
#[derive(Debug, Default, Clone)]
pub struct Scan {
    /// Regular files (or links to them), sorted.
    pub files: Vec<PathBuf>,
    /// Matching paths that are no readable regular file, and why.
    pub skipped: Vec<(PathBuf, SkipReason)>,
}

/// Compiles `[shipper.rotate] rotated_patterns`.
pub fn rotated_patterns(globs: &[String]) -> Result<Option<GlobSet>, ShipperError> {
    if globs.is_empty() {
        return Ok(None);
    }
    compile("rotate.rotated_patterns", globs).map(Some)
}

/// A source's compiled globs.
#[derive(Debug, Clone)]
pub struct FileMatcher {
    source: String,
    include: GlobSet,
    exclude_paths: GlobSet,
    exclude_names: GlobSet,
    roots: Vec<(PathBuf, Option<usize>)>,
    budget: ScanBudget,
    /// Whether the budget's WARN was given (once per matcher, not per scan).
    warned: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How much of the file system one scan of one source may look at: a glob
/// such as `/**/x.log` must not crawl a whole machine every second.
#[derive(Debug, Clone, Copy)]
pub struct ScanBudget {
    /// Directory entries read, at most.
    pub entries: usize,
    /// Directories deep below a root, at most (for `**`).
    pub depth: usize,
}

impl Default for ScanBudget {
    fn default() -> Self {
        ScanBudget {
            entries: 200_000,
            depth: 24,
        }
    }
}

/// Kernel file systems a glob never descends into: nothing there is a log,
/// and `/proc` alone holds entries without end.
const PSEUDO_FILE_SYSTEMS: [&str; 3] = ["/proc", "/sys", "/dev"];

fn is_pseudo_file_system(path: &Path) -> bool {
    PSEUDO_FILE_SYSTEMS
        .iter()
        .any(|pseudo| path == Path::new(pseudo))
}

fn has_glob_chars(component: &str) -> bool {
    component.contains(['*', '?', '[', '{'])
}

fn compile(source: &str, globs: &[String]) -> Result<GlobSet, ShipperError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let compiled = Glob::new(glob).map_err(|error| ShipperError::Glob {
            source_name: source.to_owned(),
            glob: glob.clone(),
            reason: error.kind().to_string(),
        })?;
        builder.add(compiled);
    }
    builder.build().map_err(|error| ShipperError::Glob {
        source_name: source.to_owned(),
        glob: globs.join(", "),
        reason: error.to_string(),
    })
}

impl FileMatcher {
    /// Compiles a source's `paths` and `exclude`.
    pub fn new(source: &str, paths: &[String], exclude: &[String]) -> Result<Self, ShipperError> {
        let mut roots = Vec::new();
        for path in paths {
            let mut base = PathBuf::new();
            let mut depth = Some(0usize);
            let mut in_pattern = false;
            for component in Path::new(path).components() {
                let text = component.as_os_str().to_string_lossy();
                if !in_pattern && !has_glob_chars(&text) {
                    base.push(component);
                    continue;
                }
                in_pattern = true;
                depth = match (depth, text.as_ref()) {
                    (_, "**") | (None, _) => None,
                    (Some(depth), _) => Some(depth + 1),
                };
            }
            if !in_pattern {
                // A plain file path: watch its directory for exactly that name.
                let parent = base.parent().map(Path::to_path_buf).unwrap_or_default();
                roots.push((parent, Some(1)));
            } else {
                roots.push((base, depth));
            }
        }
        let (exclude_names, exclude_paths): (Vec<String>, Vec<String>) = exclude
            .iter()
            .cloned()
            .partition(|glob| !glob.contains('/'));
        Ok(FileMatcher {
            source: source.to_owned(),
            budget: ScanBudget::default(),
            warned: Default::default(),
            include: compile(source, paths)?,
            exclude_paths: compile(source, &exclude_paths)?,
            exclude_names: compile(source, &exclude_names)?,
            roots,
        })
    }

    /// Whether `path` belongs to the source.
    pub fn matches(&self, path: &Path) -> bool {
        if !self.include.is_match(path) || self.exclude_paths.is_match(path) {
            return false;
        }
        path.file_name()
            .is_none_or(|name| !self.exclude_names.is_match(Path::new(name)))
    }

    /// Directories to watch for changes.
    pub fn watch_roots(&self) -> impl Iterator<Item = &Path> {
        self.roots.iter().map(|(root, _)| root.as_path())
    }

    /// The same matcher with another scan budget.
    pub fn with_budget(mut self, budget: ScanBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Every regular file that matches now, sorted. Unreadable directories
    /// are skipped (a log directory may appear later). A scan never enters
    /// `/proc`, `/sys` or `/dev`, and stops at its [`ScanBudget`], with a
    /// WARN the first time; [`FileMatcher::scan_complete`] then says false.
    pub fn scan(&self) -> Vec<PathBuf> {
        self.scan_all().files
    }

    /// [`FileMatcher::scan`], with the matching paths skipped and why.
    pub fn scan_all(&self) -> Scan {
        let mut found = Vec::new();
        let mut skipped = Vec::new();
        let mut walk = Walk {
            left: self.budget.entries,
            max_depth: self.budget.depth,
            cut: false,
        };
        for (root, depth) in &self.roots {
            walk.dir(root, *depth, 0, &mut |path, skip| {
                if self.matches(path) {
                    match skip {
                        None => found.push(path.to_path_buf()),
                        Some(reason) => skipped.push((path.to_path_buf(), reason)),
                    }
                }
            });
        }
        if walk.cut && !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                source = %self.source,
                roots = ?self.roots.iter().map(|(root, _)| root).collect::<Vec<_>>(),
                entries = self.budget.entries,
                depth = self.budget.depth,
                "a scan of this source's globs reached its budget and stopped: files beyond it are not found; narrow the glob"
            );
        }
        found.sort();
        found.dedup();
        skipped.sort();
        skipped.dedup();
        Scan {
            files: found,
            skipped,
        }
    }

    /// Whether every scan so far stayed within its budget.
    pub fn scan_complete(&self) -> bool {
        !self.warned.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// One scan's walk and what is left of its budget.
struct Walk {
    left: usize,
    max_depth: usize,
    cut: bool,
}

impl Walk {
    fn dir(
        &mut self,
        dir: &Path,
        depth: Option<usize>,
        level: usize,
        visit: &mut dyn FnMut(&Path, Option<SkipReason>),
    ) {
        if depth == Some(0) {
            return;
        }
        if level > self.max_depth {
            self.cut = true;
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            if self.left == 0 {
                self.cut = true;
                return;
            }
            self.left -= 1;
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !is_pseudo_file_system(&path) {
                    self.dir(&path, depth.map(|depth| depth - 1), level + 1, visit);
                }
            } else if kind.is_file() {
                visit(&path, None);
            } else if kind.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(target) if target.is_file() => visit(&path, None),
                    // Links to directories are not followed, as before.
                    Ok(target) if target.is_dir() => {}
                    Ok(_) => visit(&path, Some(SkipReason::NotRegular)),
                    // ELOOP: too many levels of symbolic links.
                    Err(error) if error.raw_os_error() == Some(40) => {
                        visit(&path, Some(SkipReason::SymlinkLoop));
                    }
                    Err(_) => visit(&path, Some(SkipReason::DanglingSymlink)),
                }
            } else {
                visit(&path, Some(SkipReason::NotRegular));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, relative: &str) {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, b"x\n").expect("write");
    }

    #[test]
    fn globs_and_excludes() {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in [
            "app.log",
            "app.log.1",
            "app.log.2.gz",
            "other.txt",
            "sub/deep.log",
            "sub/x/deeper.log",
        ] {
            touch(dir.path(), file);
        }
        let base = dir.path().display().to_string();
        let matcher = FileMatcher::new(
            "app",
            &[format!("{base}/app.log*"), format!("{base}/sub/**/*.log")],
            &["*.gz".into()],
        )
        .expect("valid globs");
        let found: Vec<String> = matcher
            .scan()
            .iter()
            .map(|path| {
                path.strip_prefix(dir.path())
                    .expect("inside")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            found,
            ["app.log", "app.log.1", "sub/deep.log", "sub/x/deeper.log"]
        );
    }

    /// A FIFO, a symlink loop and a dangling link that a glob matches are
    /// reported with their reason, never read; a link to a file is read.
    #[test]
    fn matches_that_are_no_regular_file_are_reported_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "real.log");
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join("pipe.log"))
            .status()
            .expect("mkfifo");
        assert!(status.success());
        std::os::unix::fs::symlink("loop-b.log", dir.path().join("loop-a.log")).expect("link");
        std::os::unix::fs::symlink("loop-a.log", dir.path().join("loop-b.log")).expect("link");
        std::os::unix::fs::symlink("gone.log", dir.path().join("dangling.log")).expect("link");
        std::os::unix::fs::symlink("real.log", dir.path().join("linked.log")).expect("link");
        let matcher = FileMatcher::new("app", &[format!("{}/*.log", dir.path().display())], &[])
            .expect("valid");
        let scan = matcher.scan_all();
        let name = |path: &Path| {
            path.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        };
        let files: Vec<String> = scan.files.iter().map(|path| name(path)).collect();
        assert_eq!(files, ["linked.log", "real.log"]);
        let skipped: Vec<(String, SkipReason)> = scan
            .skipped
            .iter()
            .map(|(path, reason)| (name(path), *reason))
            .collect();
        assert_eq!(
            skipped,
            [
                ("dangling.log".to_owned(), SkipReason::DanglingSymlink),
                ("loop-a.log".to_owned(), SkipReason::SymlinkLoop),
                ("loop-b.log".to_owned(), SkipReason::SymlinkLoop),
                ("pipe.log".to_owned(), SkipReason::NotRegular),
            ]
        );
        assert_eq!(matcher.scan(), scan.files);
    }

    #[test]
    fn a_plain_path_matches_only_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        touch(dir.path(), "one.log");
        touch(dir.path(), "two.log");
        let path = dir.path().join("one.log").display().to_string();
        let matcher = FileMatcher::new("one", &[path], &[]).expect("valid");
        assert_eq!(matcher.scan(), vec![dir.path().join("one.log")]);
    }

    #[test]
    fn rotated_names_are_recognised() {
        let extra = rotated_patterns(&["*.old".into()]).expect("valid");
        for name in [
            "app.log.1",
            "app.log.12",
            "app.log-20261122",
            "app.log-2026112210",
            "app.log-2026-11-22",
            "app.log.20261122T100000Z",
            "app.log.20261122T100000Z-2",
            "app.log.old",
        ] {
            assert!(looks_rotated(Path::new(name), extra.as_ref()), "{name}");
        }
        for name in ["app.log", "app.2026.log", "access_log", "app.log.gz.tmp"] {
            assert!(!looks_rotated(Path::new(name), extra.as_ref()), "{name}");
        }
    }

    #[test]
    fn a_bad_glob_names_the_source_and_glob() {
        let error = FileMatcher::new("app", &["/var/log/[".into()], &[]).expect_err("bad glob");
        assert!(
            error
                .to_string()
                .starts_with("source app: invalid glob \"/var/log/[\""),
            "{error}"
        );
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn kernel_file_systems_are_never_entered() {
        for pseudo in ["/proc", "/sys", "/dev"] {
            assert!(is_pseudo_file_system(Path::new(pseudo)), "{pseudo}");
        }
        for real in ["/var/log", "/proc2", "/home/proc", "/"] {
            assert!(!is_pseudo_file_system(Path::new(real)), "{real}");
        }
        // A glob over the whole machine, bounded by a small budget: nothing
        // under a kernel file system is ever returned.
        let matcher = FileMatcher::new("everything", &["/**/*".into()], &[])
            .expect("glob")
            .with_budget(ScanBudget {
                entries: 20_000,
                depth: 6,
            });
        let found = matcher.scan();
        assert!(found.len() <= 20_000);
        assert!(
            found.iter().all(|path| !PSEUDO_FILE_SYSTEMS
                .iter()
                .any(|pseudo| path.starts_with(pseudo))),
            "a path under a kernel file system"
        );
    }

    #[test]
    fn a_scan_stops_at_its_budget_and_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in 0..50 {
            let sub = dir.path().join(format!("d{n}"));
            std::fs::create_dir_all(&sub).expect("mkdir");
            std::fs::write(sub.join("a.log"), "x\n").expect("write");
        }
        let glob = format!("{}/**/*.log", dir.path().display());
        let whole = FileMatcher::new("logs", std::slice::from_ref(&glob), &[]).expect("glob");
        assert_eq!(whole.scan().len(), 50);
        assert!(whole.scan_complete());

        let cut = FileMatcher::new("logs", std::slice::from_ref(&glob), &[])
            .expect("glob")
            .with_budget(ScanBudget {
                entries: 30,
                depth: 24,
            });
        assert!(cut.scan().len() < 50);
        assert!(!cut.scan_complete(), "the cut is known");

        // Depth: a.log five directories down is beyond a depth of 3.
        let deep = dir.path().join("x/y/z/w/v");
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::write(deep.join("deep.log"), "x\n").expect("write");
        let shallow = FileMatcher::new("logs", &[glob], &[])
            .expect("glob")
            .with_budget(ScanBudget {
                entries: 10_000,
                depth: 3,
            });
        let found = shallow.scan();
        assert!(!found.iter().any(|path| path.ends_with("deep.log")));
        assert_eq!(found.len(), 50);
        assert!(!shallow.scan_complete());
    }
}
