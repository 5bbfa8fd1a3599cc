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
    include: GlobSet,
    exclude_paths: GlobSet,
    exclude_names: GlobSet,
    roots: Vec<(PathBuf, Option<usize>)>,
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

    /// Every regular file that matches now, sorted. Unreadable directories
    /// are skipped (a log directory may appear later).
    pub fn scan(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for (root, depth) in &self.roots {
            walk(root, *depth, &mut |path| {
                if self.matches(path) {
                    found.push(path.to_path_buf());
                }
            });
        }
        found.sort();
        found.dedup();
        found
    }
}

fn walk(dir: &Path, depth: Option<usize>, visit: &mut dyn FnMut(&Path)) {
    if depth == Some(0) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, depth.map(|depth| depth - 1), visit);
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            visit(&path);
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
