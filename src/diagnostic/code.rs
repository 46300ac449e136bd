//! Every class of problem rockerc reports, as a type: a [`Code`] keeps its stable name (what
//! `error[...]` prints, what `--error-format json` carries, what editors and tests key on) and a
//! line that says what the class means, side by side, so a new diagnostic is a new variant here
//! and the list of codes is this file, not whatever string literals the sources happen to hold.

macro_rules! codes {
    ($($variant:ident = $code:literal: $summary:literal,)*) => {
        /// A diagnostic's code. The name never changes once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $summary] $variant,)*
        }

        impl Code {
            /// Every code, in the order of this file (alphabetical by name).
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable kebab-case name (`unknown-instruction`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// One line on what the class of problem is, for the list of codes in the docs.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }
        }
    };
}

codes! {
    ArgOutOfScope = "arg-out-of-scope": "a global ARG is used in a stage that does not declare it again, so Docker expands it to nothing there",
    BadContext = "bad-context": "the build context is missing, not a directory, or cannot be named relative to the script",
    BadExpansion = "bad-expansion": "a `$VAR` expansion that cannot be evaluated (a bad modifier, or a `${VAR?}` with no value)",
    BadFlagValue = "bad-flag-value": "an instruction flag has a value its instruction does not accept",
    BadImageName = "bad-image-name": "an image name Docker would refuse: empty parts, upper case, a digest where a tag goes",
    BadMount = "bad-mount": "a MOUNT argument that is not `[host:]dest` on one line",
    BadPath = "bad-path": "a COPY, ADD, EXPORT or IMPORT path with a newline or control character",
    BadPort = "bad-port": "an EXPOSE port that is not `N[-M][/proto]`",
    BadRequire = "bad-require": "a REQUIRE argument that is not a variable name",
    BadSignal = "bad-signal": "a STOPSIGNAL that is neither a signal name nor a number",
    BadStageName = "bad-stage-name": "a stage name (`FROM ... AS name`) Docker does not accept",
    BeforeFrom = "before-from": "an instruction other than ARG before the first FROM",
    BinaryFile = "binary-file": "the Rockerfile looks like a binary file",
    BlankName = "blank-name": "an empty name in ENV, ARG or LABEL",
    BuildkitExportMount = "buildkit-export-mount": "an EXPORT reads from a MOUNT, which BuildKit's output cannot see",
    BuildkitHostWrite = "buildkit-host-write": "a stage reads the build context after another stage writes into it, which BuildKit cannot order",
    BuildkitImportMount = "buildkit-import-mount": "an IMPORT into a MOUNTed directory, which BuildKit cannot build",
    BuildkitMountPath = "buildkit-mount-path": "a MOUNT destination BuildKit's `RUN --mount` cannot take",
    BuildkitPath = "buildkit-path": "an EXPORT path BuildKit's `COPY --from` cannot take",
    BuildkitSecretShell = "buildkit-secret-shell": "a RUN reads a secret under a SHELL that is not a POSIX shell",
    BuildkitStore = "buildkit-store": "an IMPORT that cannot be written as `COPY --from` for BuildKit",
    BuildkitWorkdir = "buildkit-workdir": "an EXPORT with a relative path in a stage whose WORKDIR the Rockerfile does not say",
    DuplicateDirective = "duplicate-directive": "a parser directive (`# escape=`, `# syntax=`) given twice",
    DuplicateFlag = "duplicate-flag": "an instruction flag given twice",
    DuplicateStage = "duplicate-stage": "two stages with the same name",
    EmptyBaseName = "empty-base-name": "a FROM whose image expands to nothing",
    EmptyContinuationLine = "empty-continuation-line": "an empty line inside a continued instruction (Docker ignores it and warns)",
    EmptyFile = "empty-file": "a Rockerfile with no instructions",
    FileUnreadable = "file-unreadable": "the Rockerfile cannot be read",
    IgnoredDirective = "ignored-directive": "a parser directive (such as `# syntax=`) that the legacy builder ignores",
    IgnoredFlag = "ignored-flag": "a flag Docker accepts on an instruction and ignores",
    ImportBeforeExport = "import-before-export": "an IMPORT before any EXPORT",
    ImportNotExported = "import-not-exported": "an IMPORT of a path no earlier EXPORT wrote",
    IncludeCycle = "include-cycle": "INCLUDEs that include each other",
    IncludeOpenLine = "include-open-line": "an INCLUDEd fragment that ends inside a continued line",
    IncludeOutsideContext = "include-outside-context": "an INCLUDE of a file outside the build context",
    IncludeTooDeep = "include-too-deep": "INCLUDEs nested deeper than rockerc follows",
    IncludeUnreadable = "include-unreadable": "an INCLUDEd file that cannot be read",
    IncludeUsage = "include-usage": "an INCLUDE that does not name exactly one file",
    InvalidEscape = "invalid-escape": "an `# escape=` directive with a character other than `\\` or `` ` ``",
    InvalidHeredoc = "invalid-heredoc": "a heredoc delimiter BuildKit cannot read",
    JsonInvalid = "json-invalid": "the JSON form of an instruction that is not valid JSON (read as the shell form, as Docker does)",
    JsonNotStrings = "json-not-strings": "a JSON array with elements that are not strings",
    JsonTrailingText = "json-trailing-text": "text after a JSON array (read as the shell form)",
    LineTooLong = "line-too-long": "a line longer than Docker reads",
    MissingEquals = "missing-equals": "an ENV or LABEL pair that is not `name=value`",
    MissingTool = "missing-tool": "a tool the build needs is not on PATH",
    MissingValue = "missing-value": "an ENV or LABEL with a name and no value",
    MountOutsideContext = "mount-outside-context": "a MOUNT source that leads out of the build context",
    MountSourceMissing = "mount-source-missing": "a MOUNT source that does not exist in the build context",
    MultilineArg = "multiline-arg": "an ARG value with a newline, which a MOUNTed RUN cannot receive",
    NeedsBuildkit = "needs-buildkit": "a heredoc or an instruction flag only BuildKit has, where the sh backend's legacy builder would misread it",
    NoFrom = "no-from": "a Rockerfile with no FROM",
    NoImage = "no-image": "an instruction that needs an image right after `FROM scratch`",
    NotUtf8 = "not-utf8": "a Rockerfile that is not UTF-8 text",
    NulByte = "nul-byte": "a Rockerfile with a NUL character",
    OnbuildTooDeep = "onbuild-too-deep": "ONBUILD triggers nested deeper than rockerc reads",
    OutputFailed = "output-failed": "the output (the script, `-o DIR`) cannot be written",
    OutputNotOurs = "output-not-ours": "an `-o` directory that is the current directory, one that holds it, or a file",
    ParserBug = "parser-bug": "an internal check of the parser failed (a bug in rockerc)",
    PushWithoutRegistry = "push-without-registry": "a PUSH of a name with no registry, which goes to Docker Hub",
    RequiredVariable = "required-variable": "a variable REQUIRE names is not set",
    ReservedImageName = "reserved-image-name": "a TAG, PUSH or FROM in a repository the build script keeps its own images under",
    ReservedStageName = "reserved-stage-name": "a stage named with a reserved word",
    RockerOnbuild = "rocker-onbuild": "a Rocker instruction (MOUNT, EXPORT, ...) as an ONBUILD trigger, which Docker cannot run",
    RockerV0Variable = "rocker-v0-variable": "Rocker 0.2's `$VAR` syntax for a template variable",
    RsyncNesting = "rsync-nesting": "an EXPORT whose destination nests a directory one level deeper than a file (rsync's rule)",
    SecretInExecForm = "secret-in-exec-form": "a secret in the exec form of RUN, which no shell expands",
    SecretOutsideRun = "secret-outside-run": "a secret used outside RUN, where it would land in the image",
    SecretValueGiven = "secret-value-given": "a value given for a variable declared `--secret`",
    StageCycle = "stage-cycle": "a stage that depends on itself",
    StageTypo = "stage-typo": "an image name one typo away from a stage's name (it would be pulled, not built)",
    TemplateAssertFailed = "template-assert-failed": "a template's `assert` failed",
    TemplateCallFailed = "template-call-failed": "a template function failed",
    TemplateCompare = "template-compare": "a template comparison of values that cannot be compared",
    TemplateError = "template-error": "a template error with no more specific code",
    TemplateErrorCalled = "template-error-called": "a template called its `error` function, which stops the render with that message",
    TemplateImageNotFound = "template-image-not-found": "a template's `image` helper found no such image",
    TemplateIndex = "template-index": "a template index out of range or of the wrong type",
    TemplateNilCommand = "template-nil-command": "a template pipeline that starts with `nil`",
    TemplateNoSuchTemplate = "template-no-such-template": "a template `template` call of a name not defined",
    TemplateNoValue = "template-no-value": "a template expression with no value",
    TemplateNotAFunction = "template-not-a-function": "a template gives arguments to something that is not a function",
    TemplateSyntax = "template-syntax": "a template syntax error",
    TemplateTooDeep = "template-too-deep": "templates nested or called recursively deeper than rockerc renders",
    TemplateTooLarge = "template-too-large": "a template whose output or work exceeds rockerc's limits",
    TemplateType = "template-type": "a template value of the wrong type",
    TemplateUndefinedVariable = "template-undefined-variable": "a template `$variable` that is not defined",
    TemplateUnknownFunction = "template-unknown-function": "a template function that does not exist",
    TemplateUnknownVariable = "template-unknown-variable": "a template variable that is not set",
    TemplateWrongArgCount = "template-wrong-arg-count": "a template function given too many or too few arguments",
    TemplateWrongType = "template-wrong-type": "a template function given an argument of the wrong type",
    TooManyInstructions = "too-many-instructions": "a Rockerfile with more instructions or stages than rockerc compiles",
    UndefinedArgInFrom = "undefined-arg-in-from": "a FROM using a variable no ARG before the first FROM declares",
    UnknownFlag = "unknown-flag": "an instruction flag that instruction does not have",
    UnknownInstruction = "unknown-instruction": "an instruction that is neither Docker's nor Rocker's",
    UnknownStage = "unknown-stage": "a stage number that no earlier stage has",
    UnterminatedHeredoc = "unterminated-heredoc": "a heredoc with no line that ends it",
    Usage = "usage": "a command-line usage error",
    VarEmptyName = "var-empty-name": "a `--var` with an empty name",
    VarEnvShadowed = "var-env-shadowed": "a variable named `Env`, which the environment replaces",
    VarFileUnreadable = "var-file-unreadable": "a `--var NAME=@FILE` whose file cannot be read",
    VarMissingEquals = "var-missing-equals": "a `--var` without `=`",
    VariableInCopyFrom = "variable-in-copy-from": "a variable in `COPY --from`, which Docker does not expand",
    VarsFileExtension = "vars-file-extension": "a vars file that is neither .yaml, .yml nor .json",
    VarsFileInvalid = "vars-file-invalid": "a vars file that is not valid YAML or JSON",
    VarsFileLinkLeavesCheckout = "vars-file-link-leaves-checkout": "a vars file reached through a link that leaves the checkout",
    VarsFileNotAMap = "vars-file-not-a-map": "a vars file that does not hold a mapping of names to values",
    VarsFileTooLarge = "vars-file-too-large": "a vars file larger than rockerc reads",
    VarsFileUnreadable = "vars-file-unreadable": "a vars file that cannot be read",
    VarsGlobEmpty = "vars-glob-empty": "a `--vars` pattern that matches no file",
    VarsGlobInvalid = "vars-glob-invalid": "a `--vars` pattern that is not valid",
    WrongArguments = "wrong-arguments": "an instruction with the wrong number of arguments",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn names_are_unique_sorted_kebab_case_and_each_has_a_summary() {
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "codes are listed once each, in alphabetical order");
        for code in Code::ALL {
            let name = code.as_str();
            assert!(
                name.starts_with(|c: char| c.is_ascii_lowercase()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(!code.summary().is_empty() && !code.summary().ends_with('.'), "{name}: a summary is one line without a final period");
        }
    }
}
