use std::fmt;
use std::path::PathBuf;

/// A configuration error, pointing at the file, line, column and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config file: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file was read but something in it is wrong.
    #[error("{0}")]
    Invalid(Box<Located>),
}

impl ConfigError {
    /// Where the problem is, when it is inside the file.
    pub fn location(&self) -> Option<&Located> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Invalid(located) => Some(located),
        }
    }
}

/// A problem at a place in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file, or `<defaults>` when there is none.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column in characters, when known.
    pub column: Option<usize>,
    /// The dotted key, such as `parser.patterns[1].regex`, when known.
    pub key: Option<String>,
    /// What is wrong, in lowercase, without the location.
    pub message: String,
    /// The offending line of the file, for display.
    pub source_line: Option<String>,
}

impl fmt::Display for Located {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(formatter, ":{line}")?;
            if let Some(column) = self.column {
                write!(formatter, ":{column}")?;
            }
        }
        formatter.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(formatter, "key `{key}`: ")?;
        }
        formatter.write_str(&self.message)?;
        if let (Some(text), Some(column)) = (&self.source_line, self.column) {
            let gutter = self.line.map(|line| line.to_string().len()).unwrap_or(1);
            write!(formatter, "\n{:>gutter$} | {text}", self.line.unwrap_or(0))?;
            write!(formatter, "\n{:>gutter$} | {:>column$}", "", "^")?;
        }
        Ok(())
    }
}

/// The file's text with the means to turn a byte offset into line and column.
pub(crate) struct SourceText<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl SourceText<'_> {
    pub(crate) fn error_at(
        &self,
        offset_opt: Option<usize>,
        key_opt: Option<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        // Messages quote values (serde's "invalid type: string …").
        let message = crate::secret::redact_quoted(
            &message.into(),
            key_opt.as_deref().is_some_and(crate::secret::is_secret_key),
        );
        let mut located = Located {
            file: self.file.to_owned(),
            line: None,
            column: None,
            key: key_opt,
            message,
            source_line: None,
        };
        if let Some(offset) = offset_opt {
            let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
            let line_start = self.text[..offset]
                .rfind('\n')
                .map_or(0, |newline| newline + 1);
            let line_end = self.text[offset..]
                .find('\n')
                .map_or(self.text.len(), |newline| offset + newline);
            located.line = Some(self.text[..line_start].matches('\n').count() + 1);
            located.column = Some(self.text[line_start..offset].chars().count() + 1);
            // Quoted in errors, so never with a secret in it.
            located.source_line = Some(crate::secret::redact_source_line(
                self.text[line_start..line_end].trim_end(),
            ));
        }
        ConfigError::Invalid(Box::new(located))
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
