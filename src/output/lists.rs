//! What `--list-hosts`, `--list-tasks` and `--list-tags` print (stdout), from plain data the
//! caller has already worked out (hosts matched, tasks left after tag filtering).

use super::pyjson::py_repr_str;
use std::collections::BTreeSet;

/// One play of the listing.
#[derive(Clone, Debug, Default)]
pub struct ListPlay {
    /// `play.get_name()`: the name, or the patterns joined with `,` when unnamed.
    pub name: String,
    /// The play's `hosts:` entries, as a list (a string pattern is one entry).
    pub patterns: Vec<String>,
    /// The play's own tags.
    pub tags: Vec<String>,
    /// Hosts the patterns match, in the order to print them.
    pub hosts: Vec<String>,
    /// Tasks that survive tag filtering, in order (implicit meta tasks left out).
    pub tasks: Vec<ListTask>,
}

#[derive(Clone, Debug, Default)]
pub struct ListTask {
    /// The task's name with its role prefix (`r1 : role task`), or its action when unnamed.
    pub name: String,
    /// The task's own tags (inherited block/role tags included, play tags not).
    pub tags: Vec<String>,
}

/// Which of the three listings were asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListWhat {
    pub hosts: bool,
    pub tasks: bool,
    pub tags: bool,
}

/// The whole listing for one playbook file (`playbook` as given on the command line).
/// Each line ends with a newline; print it as is. For several playbooks, concatenate.
pub fn list_playbook(playbook: &str, plays: &[ListPlay], what: ListWhat) -> String {
    let mut out = format!("\nplaybook: {playbook}\n");
    for (idx, play) in plays.iter().enumerate() {
        let play_tags: BTreeSet<&str> = play.tags.iter().map(String::as_str).collect();
        // Ansible joins a set here (no space after the comma; order by hash): sorted is the
        // deterministic choice.
        let tags: Vec<&str> = play_tags.iter().copied().collect();
        out.push_str(&format!(
            "\n  play #{} ({}): {}\tTAGS: [{}]\n",
            idx + 1,
            play.patterns.join(","),
            play.name,
            tags.join(",")
        ));
        if what.hosts {
            let pattern: Vec<String> = play.patterns.iter().map(|p| py_repr_str(p)).collect();
            out.push_str(&format!(
                "    pattern: [{}]\n    hosts ({}):\n",
                pattern.join(", "),
                play.hosts.len()
            ));
            for h in &play.hosts {
                out.push_str(&format!("      {h}\n"));
            }
        }
        if what.tasks || what.tags {
            let mut all_tags: BTreeSet<&str> = BTreeSet::new();
            if what.tasks {
                out.push_str("    tasks:\n");
            }
            for task in &play.tasks {
                all_tags.extend(task.tags.iter().map(String::as_str));
                if what.tasks {
                    let cur: BTreeSet<&str> = play_tags
                        .iter()
                        .copied()
                        .chain(task.tags.iter().map(String::as_str))
                        .collect();
                    let cur: Vec<&str> = cur.into_iter().collect();
                    out.push_str(&format!(
                        "      {}\tTAGS: [{}]\n",
                        task.name,
                        cur.join(", ")
                    ));
                }
            }
            if what.tags {
                all_tags.extend(play_tags.iter().copied());
                let all: Vec<&str> = all_tags.into_iter().collect();
                out.push_str(&format!("      TASK TAGS: [{}]\n", all.join(", ")));
            }
        }
    }
    out
}

/// `--list-hosts` alone.
pub fn list_hosts(playbook: &str, plays: &[ListPlay]) -> String {
    list_playbook(
        playbook,
        plays,
        ListWhat {
            hosts: true,
            ..Default::default()
        },
    )
}

/// `--list-tasks` alone.
pub fn list_tasks(playbook: &str, plays: &[ListPlay]) -> String {
    list_playbook(
        playbook,
        plays,
        ListWhat {
            tasks: true,
            ..Default::default()
        },
    )
}

/// `--list-tags` alone.
pub fn list_tags(playbook: &str, plays: &[ListPlay]) -> String {
    list_playbook(
        playbook,
        plays,
        ListWhat {
            tags: true,
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plays of a test playbook (p5.yml): "Play one" on `web` (tags [ptag], role r1 with a
    /// task tagged rt, t1 tagged [a, b], a block task tagged never, include/import of
    /// inc.yml), an unnamed play on `localhost:down` and one on `nomatch`.
    fn plays(with_never: bool) -> Vec<ListPlay> {
        let t = |n: &str, tags: &[&str]| ListTask {
            name: n.into(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
        };
        let mut tasks = vec![
            t("r1 : role task", &["rt"]),
            t("debug", &[]),
            t("t1", &["a", "b"]),
            t("debug", &[]),
        ];
        if with_never {
            tasks.push(t("inblock", &["never"]));
        }
        tasks.push(t("include_tasks", &[]));
        tasks.push(t("debug", &[]));
        vec![
            ListPlay {
                name: "Play one".into(),
                patterns: vec!["web".into()],
                tags: vec!["ptag".into()],
                hosts: vec!["localhost".into(), "down".into()],
                tasks,
            },
            ListPlay {
                name: "localhost:down".into(),
                patterns: vec!["localhost:down".into()],
                hosts: vec!["localhost".into(), "down".into()],
                tasks: vec![t("t2", &[])],
                ..Default::default()
            },
            ListPlay {
                name: "nomatch".into(),
                patterns: vec!["nomatch".into()],
                ..Default::default()
            },
        ]
    }

    #[test]
    fn list_tasks_matches_ansible() {
        // ansible-playbook -i inv p5.yml --list-tasks
        let got = list_tasks("p5.yml", &plays(false));
        assert_eq!(
            got,
            "\nplaybook: p5.yml\n\n  play #1 (web): Play one\tTAGS: [ptag]\n    tasks:\n      r1 : role task\tTAGS: [ptag, rt]\n      debug\tTAGS: [ptag]\n      t1\tTAGS: [a, b, ptag]\n      debug\tTAGS: [ptag]\n      include_tasks\tTAGS: [ptag]\n      debug\tTAGS: [ptag]\n\n  play #2 (localhost:down): localhost:down\tTAGS: []\n    tasks:\n      t2\tTAGS: []\n\n  play #3 (nomatch): nomatch\tTAGS: []\n    tasks:\n"
        );
    }

    #[test]
    fn all_three_together() {
        // ansible-playbook -i inv p5.yml --list-hosts --list-tasks --list-tags (first play;
        // Ansible printed the hosts of a set, here "down, localhost").
        let mut p = plays(true);
        p.truncate(1);
        p[0].hosts.reverse();
        let got = list_playbook(
            "p5.yml",
            &p,
            ListWhat {
                hosts: true,
                tasks: true,
                tags: true,
            },
        );
        assert_eq!(
            got,
            "\nplaybook: p5.yml\n\n  play #1 (web): Play one\tTAGS: [ptag]\n    pattern: ['web']\n    hosts (2):\n      down\n      localhost\n    tasks:\n      r1 : role task\tTAGS: [ptag, rt]\n      debug\tTAGS: [ptag]\n      t1\tTAGS: [a, b, ptag]\n      debug\tTAGS: [ptag]\n      inblock\tTAGS: [never, ptag]\n      include_tasks\tTAGS: [ptag]\n      debug\tTAGS: [ptag]\n      TASK TAGS: [a, b, never, ptag, rt]\n"
        );
    }

    #[test]
    fn list_hosts_and_tags_match_ansible() {
        // ansible-playbook -i inv p5.yml --list-hosts
        assert_eq!(
            list_hosts("p5.yml", &plays(false)),
            "\nplaybook: p5.yml\n\n  play #1 (web): Play one\tTAGS: [ptag]\n    pattern: ['web']\n    hosts (2):\n      localhost\n      down\n\n  play #2 (localhost:down): localhost:down\tTAGS: []\n    pattern: ['localhost:down']\n    hosts (2):\n      localhost\n      down\n\n  play #3 (nomatch): nomatch\tTAGS: []\n    pattern: ['nomatch']\n    hosts (0):\n"
        );
        // ansible-playbook -i inv p5.yml --list-tags
        let got = list_tags("p5.yml", &plays(true));
        assert_eq!(
            got,
            "\nplaybook: p5.yml\n\n  play #1 (web): Play one\tTAGS: [ptag]\n      TASK TAGS: [a, b, never, ptag, rt]\n\n  play #2 (localhost:down): localhost:down\tTAGS: []\n      TASK TAGS: []\n\n  play #3 (nomatch): nomatch\tTAGS: []\n      TASK TAGS: []\n"
        );
    }
}
