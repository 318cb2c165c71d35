//! Which actions exist, where they run, and their canonical names.

/// Where an action runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Entirely on the controller (debug, set_fact, include_tasks, ...).
    Controller,
    /// A module that runs on the target, possibly after controller-side preparation
    /// (template rendering, reading `copy`'s local src).
    Module,
}

/// Collections whose modules we provide under their short names.
const COLLECTION_PREFIXES: &[&str] = &[
    "ansible.builtin.",
    "ansible.legacy.",
    "ansible.posix.",
    "community.general.",
    "openstack.config_template.",
    "openstack.osa.",
];

/// Actions run by the controller itself.
const CONTROLLER_ACTIONS: &[&str] = &[
    "debug",
    "set_fact",
    "assert",
    "fail",
    "meta",
    "pause",
    "include_tasks",
    "import_tasks",
    "include_role",
    "import_role",
    "include_vars",
    "import_playbook",
    "add_host",
    "group_by",
    "set_stats",
];

/// Modules that take free-form text (`command: echo hi`).
pub const FREE_FORM: &[&str] = &[
    "command",
    "shell",
    "raw",
    "script",
    "include_tasks",
    "import_tasks",
    "include_vars",
    "include",
    "meta",
];

/// Whether an action takes text besides `key=value` arguments (Ansible's raw-param
/// actions): the free-form modules, and actions that read their text themselves.
pub fn accepts_raw_params(short: &str) -> bool {
    FREE_FORM.contains(&short)
        || matches!(
            short,
            "add_host" | "group_by" | "set_fact" | "include_role" | "import_role"
        )
}

/// The short name of an action (`ansible.builtin.copy` -> `copy`).
pub fn canonical_action(name: &str) -> &str {
    for p in COLLECTION_PREFIXES {
        if let Some(short) = name.strip_prefix(p) {
            return short;
        }
    }
    name
}

pub fn is_controller_action(short: &str) -> bool {
    CONTROLLER_ACTIONS.contains(&short)
}

/// Whether `play` can run the action, and how.
pub fn action_kind(short: &str) -> Option<ActionKind> {
    if is_controller_action(short) {
        Some(ActionKind::Controller)
    } else if play_modules::names().contains(&short)
        || matches!(
            short,
            "template" | "config_template" | "fetch" | "script" | "wait_for_connection" | "reboot"
        )
    {
        Some(ActionKind::Module)
    } else {
        None
    }
}

/// Names of Ansible modules that exist upstream, used to tell "not available natively"
/// from a misspelling.
pub fn is_known_upstream(short: &str) -> bool {
    const UPSTREAM: &[&str] = &[
        "apt",
        "apt_key",
        "apt_repository",
        "assemble",
        "async_status",
        "blockinfile",
        "cron",
        "deb822_repository",
        "debconf",
        "dnf",
        "dpkg_selections",
        "expect",
        "fetch",
        "find",
        "get_url",
        "getent",
        "git",
        "group",
        "hostname",
        "iptables",
        "known_hosts",
        "lineinfile",
        "package",
        "package_facts",
        "pip",
        "reboot",
        "replace",
        "rpm_key",
        "script",
        "service",
        "service_facts",
        "slurp",
        "stat",
        "subversion",
        "systemd",
        "systemd_service",
        "sysvinit",
        "tempfile",
        "unarchive",
        "uri",
        "user",
        "wait_for",
        "wait_for_connection",
        "yum",
        "yum_repository",
        "authorized_key",
        "mount",
        "sysctl",
        "ini_file",
        "modprobe",
        "alternatives",
        "pam_limits",
        "timezone",
        "locale_gen",
        "config_template",
        "synchronize",
        "selinux",
        "seboolean",
    ];
    UPSTREAM.contains(&short)
}
