//! Which task files are stage files: `<svc>_<stage>[_<sub>].yml`, and the order of stages.

use std::fmt;

/// A deployment stage, in the order a role's stages run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Build,
    Stage,
    Install,
    Configure,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Build, Stage::Stage, Stage::Install, Stage::Configure];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Build => "build",
            Stage::Stage => "stage",
            Stage::Install => "install",
            Stage::Configure => "configure",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.name() == s)
    }

    /// Stages that leave a checkpoint; configure always runs (configuration changes land there).
    pub fn checkpointed(self) -> bool {
        self != Stage::Configure
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// The stage words a file name may carry, with the stage each stands for. OpenStack-Ansible's
/// `pre_install` opens install and `post_install` belongs to configure. Longer words first so
/// `_pre_install` is not read as `_install`.
const WORDS: &[(&str, Stage, u8)] = &[
    ("post_install", Stage::Configure, 0),
    ("pre_install", Stage::Install, 0),
    ("configure", Stage::Configure, 1),
    ("install", Stage::Install, 1),
    ("build", Stage::Build, 0),
    ("stage", Stage::Stage, 0),
];

/// A task file recognised as part of a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageFile {
    /// The service the file belongs to (`keystone` in `keystone_install_apt.yml`).
    pub svc: String,
    pub stage: Stage,
    /// The word as written (`pre_install`, `install`, ...).
    pub word: &'static str,
    /// What follows the stage word (`apt` in `keystone_install_apt.yml`), if anything.
    pub sub: Option<String>,
}

impl StageFile {
    /// The order of a top-level stage file within a synthesised main.yml.
    pub fn order(&self) -> (Stage, u8) {
        let rank = WORDS
            .iter()
            .find(|(w, _, _)| *w == self.word)
            .map(|(_, _, r)| *r)
            .unwrap_or(0);
        (self.stage, rank)
    }
}

/// Parse a task file name (with or without directory and `.yml`/`.yaml`). The service is
/// everything before the first stage word that is preceded by `_`; a name with no service
/// part, or one still holding template markers, is not a stage file.
pub fn parse(file: &str) -> Option<StageFile> {
    let base = file.rsplit('/').next().unwrap_or(file);
    let stem = base
        .strip_suffix(".yml")
        .or_else(|| base.strip_suffix(".yaml"))
        .unwrap_or(base);
    if stem.contains("{{") || stem.contains("{%") {
        return None;
    }
    let mut best: Option<(usize, &'static str, Stage)> = None;
    for (word, stage, _) in WORDS {
        let mut from = 0;
        while let Some(i) = stem[from..].find(word) {
            let at = from + i;
            let end = at + word.len();
            let before_ok = at > 1 && stem.as_bytes()[at - 1] == b'_';
            let after_ok = end == stem.len() || stem.as_bytes()[end] == b'_';
            if before_ok && after_ok {
                // The earliest word wins; at the same place, the longer (listed first).
                if best.map(|(b, _, _)| at - 1 < b).unwrap_or(true) {
                    best = Some((at - 1, word, *stage));
                }
                break;
            }
            from = at + 1;
        }
    }
    let (sep, word, stage) = best?;
    let svc = &stem[..sep];
    let rest = &stem[sep + 1 + word.len()..];
    Some(StageFile {
        svc: svc.to_string(),
        stage,
        word,
        sub: rest.strip_prefix('_').map(str::to_string),
    })
}

/// Like [`parse`], for a file name that may still hold `{{ ... }}`: each template becomes a
/// placeholder word, so `{{ svc }}_install_{{ pkg }}.yml` is known to be an install file.
pub fn parse_templated(file: &str) -> Option<Stage> {
    let mut plain = String::new();
    let mut rest = file;
    while let Some(i) = rest.find("{{") {
        plain.push_str(&rest[..i]);
        plain.push('x');
        rest = match rest[i..].find("}}") {
            Some(j) => &rest[i + j + 2..],
            None => "",
        };
    }
    plain.push_str(rest);
    parse(&plain).map(|f| f.stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<(String, Stage, Option<String>)> {
        parse(s).map(|f| (f.svc, f.stage, f.sub))
    }

    #[test]
    fn stage_file_names() {
        assert_eq!(
            p("keystone_install.yml"),
            Some(("keystone".into(), Stage::Install, None))
        );
        assert_eq!(
            p("tasks/nova_install_apt.yml"),
            Some(("nova".into(), Stage::Install, Some("apt".into())))
        );
        assert_eq!(p("keystone_pre_install.yml").unwrap().1, Stage::Install);
        assert_eq!(p("keystone_post_install.yml").unwrap().1, Stage::Configure);
        assert_eq!(
            p("web_front_configure_ssl.yml"),
            Some(("web_front".into(), Stage::Configure, Some("ssl".into())))
        );
        assert_eq!(p("app_build.yaml").unwrap().1, Stage::Build);
        assert_eq!(p("app_stage.yml").unwrap().1, Stage::Stage);
        // The first stage word decides: a service may not contain one.
        assert_eq!(p("app_stage_install.yml").unwrap().1, Stage::Stage);
        assert_eq!(p("main.yml"), None);
        assert_eq!(p("install.yml"), None);
        assert_eq!(p("_install.yml"), None);
        assert_eq!(p("app_installer.yml"), None);
        assert_eq!(p("{{ svc }}_install.yml"), None);
    }

    #[test]
    fn templated_names() {
        assert_eq!(
            parse_templated("{{ svc }}_install_{{ ansible_pkg_mgr }}.yml"),
            Some(Stage::Install)
        );
        assert_eq!(parse_templated("{{ item }}.yml"), None);
    }

    #[test]
    fn synthesised_order() {
        let mut files: Vec<StageFile> = [
            "a_configure",
            "a_post_install",
            "a_install",
            "a_pre_install",
            "a_build",
            "a_stage",
        ]
        .iter()
        .map(|n| parse(n).unwrap())
        .collect();
        files.sort_by_key(|f| f.order());
        let words: Vec<&str> = files.iter().map(|f| f.word).collect();
        assert_eq!(
            words,
            [
                "build",
                "stage",
                "pre_install",
                "install",
                "post_install",
                "configure"
            ]
        );
    }
}
