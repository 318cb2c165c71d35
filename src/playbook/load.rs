//! From YAML nodes to the model: keyword validation, action detection, `k=v` arguments,
//! `with_*` loops, and the static expansion of `import_playbook`, `import_tasks`,
//! `import_role` and `roles:`.

use super::actions::{action_kind, canonical_action, is_known_upstream, FREE_FORM};
use super::kv::parse_kv;
use super::model::*;
use super::roles::{load_vars_files, Role, RoleSearch};
use crate::error::{Error, Result};
use crate::yaml::{self, Kind, Mapping, Node, Span};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub type LoadError = Error;

const COMMON_KEYWORDS: &[&str] = &[
    "any_errors_fatal",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "name",
    "no_log",
    "port",
    "remote_user",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "vars",
    "when",
    "delegate_to",
    "delegate_facts",
];
const TASK_KEYWORDS: &[&str] = &[
    "action",
    "args",
    "async",
    "changed_when",
    "delay",
    "failed_when",
    "local_action",
    "loop",
    "loop_control",
    "notify",
    "poll",
    "register",
    "retries",
    "until",
];
const BLOCK_KEYWORDS: &[&str] = &["block", "rescue", "always", "notify"];
const PLAY_KEYWORDS: &[&str] = &[
    "hosts",
    "vars_files",
    "vars_prompt",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "serial",
    "strategy",
    "order",
    "max_fail_percentage",
    "force_handlers",
];
const ROLE_KEYWORDS: &[&str] = &["role", "name"];

/// What the loader knows while it reads a task list.
#[derive(Clone)]
pub struct Ctx {
    /// Directory relative includes are resolved against first.
    pub dir: PathBuf,
    pub play_dir: PathBuf,
    pub role: Option<Arc<Role>>,
    pub handlers: bool,
    /// What load-time templates (import_role names, import_tasks files) can see: the
    /// play's vars over those of the import_playbook that brought it in.
    pub vars: Arc<Mapping>,
    /// Inside one handler (a handler block's tasks, a file it imports or includes):
    /// blocks and roles are not allowed there.
    pub in_handler: bool,
}

/// Roles and handlers gathered while a play's sections are expanded.
#[derive(Default)]
pub struct PlayAcc {
    pub handlers: Vec<Item>,
    pub roles: Vec<Arc<Role>>,
    /// Roles expanded so far (path, tasks_from, params): a dependency met again is not
    /// repeated unless its role allows duplicates.
    pub seen_roles: HashSet<String>,
}

pub struct Loader {
    pub roles: RoleSearch,
    /// Variables known at load time (extra vars), for templated static import names.
    pub static_vars: Mapping,
    files: Mutex<HashMap<PathBuf, Arc<Vec<Node>>>>,
}

impl Loader {
    pub fn new(roles: RoleSearch, static_vars: Mapping) -> Self {
        Loader {
            roles,
            static_vars,
            files: Mutex::new(HashMap::new()),
        }
    }

    fn read(&self, path: &Path, span: &Span) -> Result<Arc<Vec<Node>>> {
        if let Some(d) = self.files.lock().unwrap().get(path) {
            return Ok(d.clone());
        }
        if !path.is_file() {
            return Err(Error::at(
                format!(
                    "Unable to retrieve file contents. Could not find or access '{0}' on the Ansible Controller: [Errno 2] No such file or directory: '{0}'",
                    path.display()
                ),
                span,
            )
            .general());
        }
        let docs = Arc::new(yaml::load_file(path)?);
        self.files
            .lock()
            .unwrap()
            .insert(path.to_path_buf(), docs.clone());
        Ok(docs)
    }

    /// A static name (import_tasks/import_playbook file, role name): templated with what is
    /// known at load time: `layers` (later ones win), then the extra vars over all.
    fn static_string(&self, node: &Node, layers: &[&Mapping]) -> Result<String> {
        let s = scalar_string(node).ok_or_else(|| Error::at("expected a string", &node.span))?;
        if crate::template::is_template(&s) {
            let mut vars = Mapping::default();
            for layer in layers.iter().copied().chain([&self.static_vars]) {
                for (k, e) in &layer.entries {
                    vars.entries.insert(k.clone(), e.clone());
                }
            }
            crate::vars::template_static(&s, &vars).map_err(|e| e.or_at(&node.span))
        } else {
            Ok(s)
        }
    }

    /// Load a playbook file: its plays, with `import_playbook` expanded in place.
    pub fn load_playbook(&self, path: &Path) -> Result<Playbook> {
        let path = absolute(path);
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut plays = Vec::new();
        self.load_plays(&path, &mut plays, 0, &Mapping::default())?;
        Ok(Playbook { path, dir, plays })
    }

    /// `inherited`: the vars of the import_playbook entries that led here.
    fn load_plays(
        &self,
        path: &Path,
        out: &mut Vec<Play>,
        depth: usize,
        inherited: &Mapping,
    ) -> Result<()> {
        if depth > 64 {
            return Err(Error::new(format!(
                "import_playbook nests too deeply at {}",
                path.display()
            )));
        }
        let span = Span::synthetic(&path.display().to_string());
        let docs = self.read(path, &span)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let Some(doc) = docs.first() else {
            return Err(Error::at("Empty playbook, nothing to do", &span));
        };
        let Some(list) = doc.as_seq() else {
            return Err(Error::at(
                "A playbook must be a list of plays, got a dict instead",
                &doc.span,
            ));
        };
        if list.is_empty() {
            return Err(Error::new(format!(
                "A playbook must contain at least one play: {}",
                path.display()
            )));
        }
        for entry in list {
            let Some(map) = entry.as_map() else {
                return Err(Error::at(
                    format!(
                        "A playbook must be a list of plays, got a {} instead",
                        entry.type_name()
                    ),
                    &entry.span,
                ));
            };
            let imp = [
                "import_playbook",
                "ansible.builtin.import_playbook",
                "ansible.legacy.import_playbook",
            ]
            .iter()
            .find_map(|k| map.get(k));
            if let Some(imp) = imp {
                let vars = match map.get("vars") {
                    Some(v) => v.as_map().cloned().unwrap_or_default(),
                    None => Mapping::default(),
                };
                let name = self.static_string(imp, &[inherited, &vars])?;
                let p = resolve_rel(&dir, &name);
                let before = out.len();
                let mut below = inherited.clone();
                for (k, e) in &vars.entries {
                    below.entries.insert(k.clone(), e.clone());
                }
                self.load_plays(&p, out, depth + 1, &below)?;
                // Vars and when on import_playbook apply to every imported play.
                for play in &mut out[before..] {
                    for (k, e) in &vars.entries {
                        if !play.kw.vars.entries.contains_key(k) {
                            play.kw.vars.entries.insert(k.clone(), e.clone());
                        }
                    }
                    if let Some(w) = map.get("when") {
                        play.kw.when.extend(as_list(w));
                    }
                    if let Some(t) = map.get("tags") {
                        play.kw.tags.extend(as_list(t));
                    }
                }
                continue;
            }
            out.push(self.load_play(entry, map, &dir, inherited)?);
        }
        Ok(())
    }

    fn load_play(
        &self,
        node: &Node,
        map: &Mapping,
        dir: &Path,
        inherited: &Mapping,
    ) -> Result<Play> {
        let renamed = play_user_as_remote_user(node, map)?;
        let map = renamed.as_ref().unwrap_or(map);
        for (k, _) in map.iter() {
            if !(PLAY_KEYWORDS.contains(&k.as_str()) || COMMON_KEYWORDS.contains(&k.as_str()))
                || k == "delegate_to"
                || k == "delegate_facts"
            {
                return Err(Error::at(
                    format!("'{k}' is not a valid attribute for a Play"),
                    map.key_span(k).unwrap_or(&node.span),
                ));
            }
        }
        let hosts = match map.get("hosts") {
            Some(h) if !h.is_null() => {
                validate_hosts(h)?;
                h.clone()
            }
            _ => {
                return Err(Error::at(
                    "Hosts list cannot be empty. Please check your playbook",
                    &node.span,
                ))
            }
        };
        if let Some(vp) = map.get("vars_prompt") {
            validate_vars_prompt(vp)?;
        }
        let kw = keywords(map, &node.span)?;
        let mut vars = inherited.clone();
        for (k, e) in &kw.vars.entries {
            vars.entries.insert(k.clone(), e.clone());
        }
        let ctx = Ctx {
            dir: dir.to_path_buf(),
            play_dir: dir.to_path_buf(),
            role: None,
            handlers: false,
            vars: Arc::new(vars),
            in_handler: false,
        };
        let mut acc = PlayAcc::default();
        let section = |name: &str, acc: &mut PlayAcc| -> Result<Vec<Item>> {
            match map.get(name) {
                Some(n) => {
                    section_is_list(name, n, node)?;
                    self.load_items(n, &ctx, acc)
                }
                None => Ok(Vec::new()),
            }
        };
        let pre_tasks = section("pre_tasks", &mut acc)?;
        let mut roles = Vec::new();
        if let Some(r) = map.get("roles") {
            if !r.is_null() {
                let list = r.as_seq().ok_or_else(|| {
                    Error::at("A malformed role declaration was encountered.", &r.span)
                })?;
                for rn in list {
                    if let Some(item) = self.role_from_decl(rn, &ctx, &mut acc)? {
                        roles.push(item);
                    }
                }
            }
        }
        let tasks = section("tasks", &mut acc)?;
        let post_tasks = section("post_tasks", &mut acc)?;
        // Role handlers come before the play's own, as Ansible lists them: they run first,
        // and a play handler of the same name wins a notification (the last one loaded).
        let mut handlers = std::mem::take(&mut acc.handlers);
        let play_handlers = match map.get("handlers") {
            Some(h) => self.load_items_checked(
                "handlers",
                h,
                node,
                &Ctx {
                    handlers: true,
                    ..ctx.clone()
                },
                &mut acc,
            )?,
            None => Vec::new(),
        };
        handlers.extend(play_handlers);
        // Roles imported from the handlers section bring their handlers last.
        handlers.append(&mut acc.handlers);
        let vars_files = map.get("vars_files").map(as_list).unwrap_or_default();
        Ok(Play {
            name: map.get("name").cloned(),
            hosts,
            kw,
            vars_files,
            vars_prompt: map.get("vars_prompt").cloned(),
            gather_facts: map.get("gather_facts").cloned(),
            gather_subset: map.get("gather_subset").cloned(),
            pre_tasks,
            roles,
            tasks,
            post_tasks,
            handlers,
            serial: map.get("serial").cloned(),
            strategy: map.get("strategy").cloned(),
            order: map.get("order").cloned(),
            max_fail_percentage: map.get("max_fail_percentage").cloned(),
            force_handlers: map.get("force_handlers").cloned(),
            fact_path: map.get("fact_path").cloned(),
            span: node.span.clone(),
            dir: dir.to_path_buf(),
            role_list: acc.roles,
            seen_roles: acc.seen_roles,
        })
    }

    /// A play's section, which must be a list (or empty).
    fn load_items_checked(
        &self,
        name: &str,
        n: &Node,
        play: &Node,
        ctx: &Ctx,
        acc: &mut PlayAcc,
    ) -> Result<Vec<Item>> {
        section_is_list(name, n, play)?;
        self.load_items(n, ctx, acc)
    }

    /// A task list (a section, a block's list, an included file's content).
    pub fn load_items(&self, node: &Node, ctx: &Ctx, acc: &mut PlayAcc) -> Result<Vec<Item>> {
        match &node.kind {
            Kind::Null => Ok(Vec::new()),
            Kind::Seq(list) => {
                let mut out = Vec::with_capacity(list.len());
                for n in list {
                    if n.is_null() {
                        continue;
                    }
                    out.extend(self.load_item(n, ctx, acc)?);
                }
                Ok(out)
            }
            _ => Err(Error::at(
                format!(
                    "A list of tasks was expected, but got a {} instead",
                    node.type_name()
                ),
                &node.span,
            )),
        }
    }

    /// The tasks of a file, for `include_tasks` at run time and `import_tasks` at load time.
    pub fn load_task_file(
        &self,
        path: &Path,
        ctx: &Ctx,
        acc: &mut PlayAcc,
        span: &Span,
    ) -> Result<Vec<Item>> {
        let docs = self.read(path, span)?;
        let Some(doc) = docs.first() else {
            return Ok(Vec::new());
        };
        let ctx = Ctx {
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            ..ctx.clone()
        };
        self.load_items(doc, &ctx, acc)
    }

    fn load_item(&self, node: &Node, ctx: &Ctx, acc: &mut PlayAcc) -> Result<Vec<Item>> {
        let Some(map) = node.as_map() else {
            return Err(Error::at(
                format!("A malformed block was encountered while loading tasks: {} should be a list or None but is a {}",
                    node.to_json(), node.type_name()),
                &node.span,
            ));
        };
        if map.get("block").is_some() || map.get("rescue").is_some() || map.get("always").is_some()
        {
            // A handlers list may hold blocks, but a handler may not.
            if ctx.in_handler {
                return Err(Error::at(
                    "Using a block as a handler is not supported.",
                    &node.span,
                ));
            }
            return Ok(vec![Item::Block(Arc::new(
                self.load_block(node, map, ctx, acc)?,
            ))]);
        }
        let task = self.load_task(node, map, ctx)?;
        check_include_args(&task, node)?;
        if (ctx.handlers || ctx.in_handler)
            && matches!(task.action.as_str(), "import_role" | "include_role")
        {
            return Err(Error::at(
                format!(
                    "Using '{}' as a handler is not supported.",
                    task.action_written
                ),
                &node.span,
            ));
        }
        match task.action.as_str() {
            "import_tasks" => {
                let file = task
                    .args
                    .get("_raw_params")
                    .or_else(|| task.args.get("file"))
                    .ok_or_else(|| Error::at("No file specified for import_tasks", &task.span))?;
                let name = self.static_string(file, &[&ctx.vars, &task.kw.vars])?;
                let path = self.task_file_path(&name, ctx);
                let mut kw = task.kw.clone();
                if task.loop_.is_some() {
                    return Err(Error::at("You cannot use loops on 'import_tasks' statements. You should use 'include_tasks' instead.", &task.span));
                }
                kw.vars = task.kw.vars.clone();
                // A role's stage file is read when its stage runs, not now.
                let stage = stage_boundary(&path, &task.span, ctx);
                let inner = Ctx {
                    in_handler: ctx.handlers || ctx.in_handler,
                    ..ctx.clone()
                };
                let items = match stage {
                    Some(_) => Vec::new(),
                    None => self.load_task_file(&path, &inner, acc, &file.span)?,
                };
                Ok(vec![Item::Block(Arc::new(Block {
                    name: None,
                    block: items,
                    rescue: Vec::new(),
                    always: Vec::new(),
                    kw,
                    span: task.span.clone(),
                    role: ctx.role.clone(),
                    is_role: false,
                    stage,
                    dedupe_key: None,
                }))])
            }
            "import_role" => {
                let item = self.role_from_task(&task, ctx, acc)?;
                Ok(item.into_iter().collect())
            }
            _ => Ok(vec![Item::Task(Arc::new(task))]),
        }
    }

    /// Where a task file named in an include/import is: the role's tasks/ directory (its
    /// handlers/ directory first for a handler), the including file's directory, then the
    /// playbook directory.
    pub fn task_file_path(&self, name: &str, ctx: &Ctx) -> PathBuf {
        let p = Path::new(name);
        if p.is_absolute() {
            return p.to_path_buf();
        }
        let mut candidates = Vec::new();
        if let Some(role) = &ctx.role {
            if ctx.handlers {
                // A handler's file: the role's handlers/, then its tasks/.
                candidates.push(role.path.join("handlers").join(name));
            }
            candidates.push(role.path.join("tasks").join(name));
        }
        candidates.push(ctx.dir.join(name));
        if let Some(role) = &ctx.role {
            candidates.push(role.path.join(name));
        }
        candidates.push(ctx.play_dir.join(name));
        candidates
            .iter()
            .find(|c| c.is_file())
            .cloned()
            .unwrap_or_else(|| candidates[0].clone())
    }

    fn load_block(
        &self,
        node: &Node,
        map: &Mapping,
        ctx: &Ctx,
        acc: &mut PlayAcc,
    ) -> Result<Block> {
        for (k, _) in map.iter() {
            if !(BLOCK_KEYWORDS.contains(&k.as_str()) || COMMON_KEYWORDS.contains(&k.as_str())) {
                return Err(Error::at(
                    format!("'{k}' is not a valid attribute for a Block"),
                    map.key_span(k).unwrap_or(&node.span),
                ));
            }
        }
        let inner = Ctx {
            in_handler: ctx.handlers || ctx.in_handler,
            ..ctx.clone()
        };
        let list = |k: &str, acc: &mut PlayAcc| -> Result<Vec<Item>> {
            match map.get(k) {
                Some(n) => self.load_items(n, &inner, acc),
                None => Ok(Vec::new()),
            }
        };
        Ok(Block {
            name: map.get("name").cloned(),
            block: list("block", acc)?,
            rescue: list("rescue", acc)?,
            always: list("always", acc)?,
            kw: keywords(map, &node.span)?,
            span: node.span.clone(),
            role: ctx.role.clone(),
            is_role: false,
            stage: None,
            dedupe_key: None,
        })
    }

    fn load_task(&self, node: &Node, map: &Mapping, ctx: &Ctx) -> Result<Task> {
        let mut action: Option<(String, Node, Span)> = None;
        let mut loop_kind = None;
        let mut loop_ = None;
        let mut conflicts: Vec<String> = Vec::new();
        let mut delegate_local = false;
        for (k, v) in map.iter() {
            let ks = k.as_str();
            let kspan = map
                .key_span(k)
                .cloned()
                .unwrap_or_else(|| node.span.clone());
            if COMMON_KEYWORDS.contains(&ks)
                || TASK_KEYWORDS.contains(&ks)
                || (ctx.handlers && ks == "listen")
            {
                match ks {
                    "action" | "local_action" => {
                        let (name, args) = split_action_value(v)?;
                        if ks == "local_action" {
                            delegate_local = true;
                        }
                        conflicts.push(name.clone());
                        action = Some((name, args, kspan));
                    }
                    "loop" => {
                        loop_kind = Some(LoopKind::Loop);
                        loop_ = Some(v.clone());
                    }
                    _ => {}
                }
                continue;
            }
            if let Some(lookup) = ks.strip_prefix("with_") {
                loop_kind = Some(LoopKind::With(lookup.to_string()));
                loop_ = Some(v.clone());
                continue;
            }
            conflicts.push(k.clone());
            action = Some((k.clone(), v.clone(), kspan));
        }
        if conflicts.len() > 1 {
            return Err(Error::at(
                format!("conflicting action statements: {}", conflicts.join(", ")),
                &node.span,
            ));
        }
        let Some((written, raw_args, aspan)) = action else {
            return Err(Error::at("no module/action detected in task.", &node.span));
        };
        let short = canonical_action(&written).to_string();
        // A templated action name is resolved per host when the task runs.
        if action_kind(&short).is_none() && !crate::template::is_template(&written) {
            if short == "include" {
                return Err(Error::at("'include' is not a valid action: use 'include_tasks' or 'import_tasks' instead.", &aspan));
            }
            let msg = if is_known_upstream(&short) {
                format!("The module {written} is not available natively in play yet.")
            } else {
                format!("couldn't resolve module/action '{written}'. This often indicates a misspelling, missing collection, or incorrect module path.")
            };
            return Err(Error::at(msg, &aspan));
        }
        let mut args = action_args(&short, &raw_args)?;
        reject_internal_args(&short, &written, &args)?;
        // The `args` keyword lies under the action's own arguments, which win; a template
        // string is kept to be resolved per host when the task runs.
        if let Some(extra) = map.get("args") {
            match extra.as_map() {
                Some(m) => {
                    let mut merged = m.clone();
                    for (k, e) in args.entries {
                        merged.entries.insert(k, e);
                    }
                    args = merged;
                }
                None if extra.is_null() => {}
                None if extra.as_str().is_some() => {
                    args.insert(
                        crate::engine::VARIABLE_PARAMS.to_string(),
                        extra.span.clone(),
                        extra.clone(),
                    );
                }
                None => {
                    return Err(Error::at(
                        "The value of the task `args` keyword is invalid.",
                        &extra.span,
                    ))
                }
            }
        }
        if short == "meta" {
            check_end_role(&args, ctx, &node.span)?;
        }
        let mut kw = keywords(map, &node.span)?;
        if delegate_local {
            kw.delegate_to = Some(Box::new(Node::string("localhost", aspan.clone())));
        }
        let apply = match args.entries.shift_remove("apply") {
            Some(e) => {
                let m = e.value.as_map().cloned().ok_or_else(|| {
                    Error::at(
                        format!(
                            "Expected a dict for apply but got <class '{}'> instead",
                            e.value.type_name()
                        ),
                        &e.value.span,
                    )
                })?;
                Some(Box::new(keywords(&m, &e.value.span)?))
            }
            None => None,
        };
        Ok(Task {
            name: map.get("name").cloned(),
            action_written: written,
            action: short,
            args,
            kw,
            loop_kind,
            loop_,
            loop_control: map.get("loop_control").cloned(),
            register: map.get("register").and_then(scalar_string),
            changed_when: map.get("changed_when").map(as_list).unwrap_or_default(),
            failed_when: map.get("failed_when").map(as_list).unwrap_or_default(),
            until: map.get("until").cloned(),
            retries: map.get("retries").cloned(),
            delay: map.get("delay").cloned(),
            notify: map.get("notify").map(as_list).unwrap_or_default(),
            listen: map.get("listen").map(as_list).unwrap_or_default(),
            async_: map.get("async").cloned(),
            poll: map.get("poll").cloned(),
            span: node.span.clone(),
            role: ctx.role.clone(),
            apply,
        })
    }

    /// `import_role` as a task.
    fn role_from_task(&self, task: &Task, ctx: &Ctx, acc: &mut PlayAcc) -> Result<Option<Item>> {
        let name_node = task
            .args
            .get("name")
            .or_else(|| task.args.get("role"))
            .ok_or_else(|| Error::at("'name' is a required field for import_role.", &task.span))?;
        let name = self.static_string(name_node, &[&ctx.vars, &task.kw.vars])?;
        let spec = RoleSpec::from_args(
            name,
            |k| task.args.get(k).and_then(scalar_string),
            true,
            task.kw.clone(),
            &task.span,
        );
        let dedupe = Dedupe::unless_allowed(task.args.get("allow_duplicates").map(Node::to_json));
        self.role_block(spec, ctx, acc, dedupe)
    }

    /// An entry of `roles:` (a name, or a mapping with `role:` and params/keywords).
    fn role_from_decl(&self, node: &Node, ctx: &Ctx, acc: &mut PlayAcc) -> Result<Option<Item>> {
        let (name, params, kw) = match &node.kind {
            // `name,version` is the role requirement format of old, not a role to run.
            Kind::Str(s) if s.contains(',') => {
                return Err(
                    Error::new(format!("Invalid old style role requirement: {s}")).general(),
                )
            }
            Kind::Str(_) | Kind::Unsafe(_) => (
                self.static_string(node, &[&ctx.vars])?,
                Mapping::default(),
                Keywords::default(),
            ),
            Kind::Map(m) => {
                let role = m.get("role").or_else(|| m.get("name")).ok_or_else(|| {
                    Error::at("role definitions must contain a role name", &node.span)
                })?;
                let mut params = Mapping::default();
                let mut kwmap = Mapping::default();
                for (k, e) in &m.entries {
                    if ROLE_KEYWORDS.contains(&k.as_str()) {
                        continue;
                    }
                    if COMMON_KEYWORDS.contains(&k.as_str()) {
                        kwmap.entries.insert(k.clone(), e.clone());
                    } else {
                        params.entries.insert(k.clone(), e.clone());
                    }
                }
                let vars = kwmap
                    .get("vars")
                    .and_then(Node::as_map)
                    .cloned()
                    .unwrap_or_default();
                (
                    self.static_string(role, &[&ctx.vars, &vars])?,
                    params,
                    keywords(&kwmap, &node.span)?,
                )
            }
            _ => {
                return Err(Error::at(
                    "A malformed role declaration was encountered.",
                    &node.span,
                ))
            }
        };
        let spec = RoleSpec {
            name,
            params,
            tasks_from: "main".into(),
            vars_from: "main".into(),
            defaults_from: "main".into(),
            handlers_from: "main".into(),
            public: true,
            kw,
            span: node.span.clone(),
        };
        self.role_block(spec, ctx, acc, Dedupe::ByMeta)
    }

    /// A role as a block: its dependencies' blocks, then its tasks. Handlers go to the play.
    pub fn role_block(
        &self,
        spec: RoleSpec,
        ctx: &Ctx,
        acc: &mut PlayAcc,
        dedupe: Dedupe,
    ) -> Result<Option<Item>> {
        let from_role = ctx.role.as_ref().map(|r| r.path.clone());
        let path = self
            .roles
            .find(&spec.name, &ctx.play_dir, from_role.as_deref(), &spec.span)?;
        // A role is known by the name it was written with (a path, a collection name).
        let role = Role::load(
            &spec.name,
            path.clone(),
            spec.params.clone(),
            &spec.vars_from,
            &spec.defaults_from,
            spec.public,
        )?;
        let key = format!(
            "{}|{}|{:?}",
            path.display(),
            spec.tasks_from,
            spec.params.to_json_string()
        );
        // A repeated role is kept: whether it runs again is decided per host when it is
        // reached (it did not complete there the first time, e.g. every task skipped).
        let repeated = !acc.seen_roles.insert(key.clone());
        let dedupe_key = match dedupe {
            Dedupe::Never => None,
            Dedupe::ByMeta if role.allow_duplicates => None,
            Dedupe::ByMeta | Dedupe::Always => Some(key),
        };
        let role_ctx = Ctx {
            dir: path.join("tasks"),
            play_dir: ctx.play_dir.clone(),
            role: Some(role.clone()),
            handlers: false,
            vars: ctx.vars.clone(),
            in_handler: false,
        };
        let mut items = Vec::new();
        for dep in &role.dependencies {
            if let Some(item) = self.role_from_decl(dep, &role_ctx, acc)? {
                items.push(item);
            }
        }
        if let Some(tf) = role.tasks_file(&spec.tasks_from) {
            inside_role(&tf, &path.join("tasks"), &role.name, &spec.span)?;
            items.extend(self.load_task_file(&tf, &role_ctx, acc, &spec.span)?);
        } else if spec.tasks_from == "main" {
            items.extend(synthesised_main(&role));
        } else {
            return Err(Error::at(
                format!(
                    "Could not find specified file in role: tasks/{}",
                    spec.tasks_from
                ),
                &spec.span,
            ));
        }
        if let Some(hf) = role
            .handlers_file(&spec.handlers_from)
            .filter(|_| !(repeated && dedupe_key.is_some()))
        {
            inside_role(&hf, &path.join("handlers"), &role.name, &spec.span)?;
            let hctx = Ctx {
                dir: path.join("handlers"),
                handlers: true,
                ..role_ctx.clone()
            };
            let mut inner = PlayAcc::default();
            let hs = self.load_task_file(&hf, &hctx, &mut inner, &spec.span)?;
            acc.handlers.extend(hs);
        }
        if !(repeated && dedupe_key.is_some()) {
            acc.roles.push(role.clone());
        }
        Ok(Some(Item::Block(Arc::new(Block {
            name: None,
            block: items,
            rescue: Vec::new(),
            always: Vec::new(),
            kw: spec.kw,
            span: spec.span,
            role: Some(role),
            is_role: true,
            stage: None,
            dedupe_key,
        }))))
    }
}

/// Whether a role that already completed on a host runs there again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dedupe {
    /// It runs every time (include_role / import_role by default).
    Never,
    /// Once per host, unless its meta/main.yml sets allow_duplicates (roles:, dependencies).
    ByMeta,
    /// Once per host (include_role / import_role with `allow_duplicates: false`).
    Always,
}

impl Dedupe {
    /// include_role / import_role: `allow_duplicates` defaults to true.
    pub fn unless_allowed(allow_duplicates: Option<serde_json::Value>) -> Dedupe {
        let allowed = match allow_duplicates {
            None => true,
            Some(serde_json::Value::Bool(b)) => b,
            Some(serde_json::Value::String(s)) => !matches!(
                s.to_ascii_lowercase().as_str(),
                "false" | "no" | "off" | "0" | "n" | "f"
            ),
            Some(v) => v.as_i64() != Some(0),
        };
        if allowed {
            Dedupe::Never
        } else {
            Dedupe::Always
        }
    }
}

/// A role to expand, as `roles:`, `import_role` or `include_role` name it.
pub struct RoleSpec {
    pub name: String,
    pub params: Mapping,
    pub tasks_from: String,
    pub vars_from: String,
    pub defaults_from: String,
    pub handlers_from: String,
    pub public: bool,
    pub kw: Keywords,
    pub span: Span,
}

impl RoleSpec {
    /// The role an include_role or import_role names, its `*_from` files read with `get`
    /// (`main` when not given).
    pub fn from_args(
        name: String,
        get: impl Fn(&str) -> Option<String>,
        public: bool,
        kw: Keywords,
        span: &Span,
    ) -> RoleSpec {
        let from = |k: &str| get(k).unwrap_or_else(|| "main".into());
        RoleSpec {
            name,
            params: Mapping::default(),
            tasks_from: from("tasks_from"),
            vars_from: from("vars_from"),
            defaults_from: from("defaults_from"),
            handlers_from: from("handlers_from"),
            public,
            kw,
            span: span.clone(),
        }
    }
}

/// `load_playbook` with a fresh loader (tests and simple callers).
pub fn load_playbook(path: &Path) -> Result<Playbook> {
    Loader::new(RoleSearch::default(), Mapping::default()).load_playbook(path)
}

/// `load_task_file` with a fresh loader.
pub fn load_task_file(path: &Path) -> Result<Vec<Item>> {
    let loader = Loader::new(RoleSearch::default(), Mapping::default());
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let ctx = Ctx {
        dir: dir.clone(),
        play_dir: dir,
        role: None,
        handlers: false,
        vars: Default::default(),
        in_handler: false,
    };
    loader.load_task_file(
        path,
        &ctx,
        &mut PlayAcc::default(),
        &Span::synthetic(&path.display().to_string()),
    )
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

fn resolve_rel(dir: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// A scalar as the string Ansible would see.
/// The stage boundary an include or import of `path` makes, if any: inside a role, a stage
/// file named from a file that is not itself a stage file of the same service (a stage's own
/// sub-files belong to it).
pub fn stage_boundary(path: &Path, from: &Span, ctx: &Ctx) -> Option<Arc<StageRef>> {
    let role = ctx.role.as_ref()?;
    let file = crate::stages::names::parse(&path.to_string_lossy())?;
    if let Some(outer) = crate::stages::names::parse(&from.file) {
        if outer.svc == file.svc {
            return None;
        }
    }
    Some(Arc::new(StageRef {
        file,
        path: path.to_path_buf(),
        role: role.clone(),
    }))
}

/// The main.yml of a role that has stage files but none: its top-level stage files in stage
/// order (build, stage, pre_install, install, post_install, configure), each a stage block.
fn synthesised_main(role: &Arc<Role>) -> Vec<Item> {
    let dir = role.path.join("tasks");
    let mut found: Vec<(crate::stages::StageFile, PathBuf)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
                })
                .filter_map(|p| {
                    let f = crate::stages::names::parse(&p.to_string_lossy())?;
                    f.sub.is_none().then_some((f, p))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort_by(|a, b| (a.0.order(), &a.1).cmp(&(b.0.order(), &b.1)));
    found
        .into_iter()
        .map(|(file, path)| {
            let span = Span::new(Arc::from(path.to_string_lossy().as_ref()), 1, 1);
            Item::Block(Arc::new(Block {
                name: None,
                block: Vec::new(),
                rescue: Vec::new(),
                always: Vec::new(),
                kw: Keywords::default(),
                span,
                role: Some(role.clone()),
                is_role: false,
                stage: Some(Arc::new(StageRef {
                    file,
                    path,
                    role: role.clone(),
                })),
                dedupe_key: None,
            }))
        })
        .collect()
}

pub fn scalar_string(n: &Node) -> Option<String> {
    match &n.kind {
        Kind::Str(s) | Kind::Unsafe(s) => Some(s.clone()),
        Kind::Int(i) => Some(i.to_string()),
        Kind::Float(f) => Some(f.to_string()),
        Kind::Bool(b) => Some(if *b { "True".into() } else { "False".into() }),
        _ => None,
    }
}

/// A keyword that takes one item or a list (`when`, `tags`, `notify`): always a list.
/// Tags written `a, b` are split on commas as Ansible does.
pub fn as_list(n: &Node) -> Vec<Node> {
    match &n.kind {
        Kind::Seq(items) => items.clone(),
        Kind::Null => Vec::new(),
        _ => vec![n.clone()],
    }
}

fn keywords(map: &Mapping, span: &Span) -> Result<Keywords> {
    let g = |k: &str| map.get(k).cloned().map(Box::new);
    let vars = match map.get("vars") {
        None => Mapping::default(),
        Some(v) => match &v.kind {
            Kind::Map(m) => m.clone(),
            Kind::Null => Mapping::default(),
            Kind::Seq(list) => {
                // A list of single-key mappings is accepted, as Ansible does.
                let mut m = Mapping::default();
                for item in list {
                    let im = item.as_map().ok_or_else(|| {
                        Error::at("Vars in a Task must be specified as a dictionary", &v.span)
                    })?;
                    for (k, e) in &im.entries {
                        m.entries.insert(k.clone(), e.clone());
                    }
                }
                m
            }
            _ => {
                return Err(Error::at(
                    "Vars in a Task must be specified as a dictionary",
                    &v.span,
                ))
            }
        },
    };
    let tags = match map.get("tags") {
        None => Vec::new(),
        Some(t) => as_list(t)
            .into_iter()
            .flat_map(|n| match &n.kind {
                Kind::Str(s) if s.contains(',') && !crate::template::is_template(s) => s
                    .split(',')
                    .map(|p| Node::string(p.trim(), n.span.clone()))
                    .collect(),
                _ => vec![n],
            })
            .collect(),
    };
    let _ = span;
    Ok(Keywords {
        when: map.get("when").map(as_list).unwrap_or_default(),
        tags,
        vars,
        environment: map.get("environment").map(as_list).unwrap_or_default(),
        become_: g("become"),
        become_user: g("become_user"),
        become_method: g("become_method"),
        become_flags: g("become_flags"),
        ignore_errors: g("ignore_errors"),
        ignore_unreachable: g("ignore_unreachable"),
        no_log: g("no_log"),
        check_mode: g("check_mode"),
        diff: g("diff"),
        any_errors_fatal: g("any_errors_fatal"),
        throttle: g("throttle"),
        run_once: g("run_once"),
        delegate_to: g("delegate_to"),
        delegate_facts: g("delegate_facts"),
        connection: g("connection"),
        remote_user: g("remote_user"),
        port: g("port"),
        module_defaults: g("module_defaults"),
        collections: g("collections"),
        timeout: g("timeout"),
        debugger: g("debugger"),
        notify: g("notify"),
    })
}

/// A play's task section (pre_tasks, tasks, post_tasks, handlers) is a list or empty;
/// anything else is reported against the play, with the value and its Python type.
fn section_is_list(name: &str, n: &Node, play: &Node) -> Result<()> {
    let ty = match &n.kind {
        Kind::Null | Kind::Seq(_) => return Ok(()),
        Kind::Bool(_) => "bool".to_string(),
        Kind::Int(_) => "ansible.module_utils._internal._datatag._AnsibleTaggedInt".into(),
        Kind::Float(_) => "ansible.module_utils._internal._datatag._AnsibleTaggedFloat".into(),
        Kind::Map(_) => "ansible.module_utils._internal._datatag._AnsibleTaggedDict".into(),
        Kind::Str(_) | Kind::Unsafe(_) | Kind::Vault(_) => {
            "ansible.module_utils._internal._datatag._AnsibleTaggedStr".into()
        }
    };
    Err(Error::at(
        format!(
            "A malformed block was encountered while loading {name}: {} should be a list or None but is <class '{ty}'>",
            crate::template::to_python_str(&n.to_json())
        ),
        &play.span,
    ))
}

/// Each `vars_prompt` entry names its variable and uses only the prompt options.
fn validate_vars_prompt(vp: &Node) -> Result<()> {
    const KEYS: &[&str] = &[
        "name",
        "prompt",
        "default",
        "private",
        "confirm",
        "encrypt",
        "salt_size",
        "salt",
        "unsafe",
    ];
    let entries: Vec<&Node> = match &vp.kind {
        Kind::Seq(items) => items.iter().collect(),
        Kind::Map(_) => vec![vp],
        _ => return Ok(()),
    };
    for e in entries {
        let Some(m) = e.as_map() else { continue };
        if !m.entries.contains_key("name") {
            return Err(Error::at(
                "Invalid vars_prompt data structure, missing 'name' key",
                &vp.span,
            ));
        }
        if let Some(k) = m.entries.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(Error::at(
                format!("Invalid vars_prompt data structure, found unsupported key '{k}'"),
                &vp.span,
            ));
        }
    }
    Ok(())
}

/// A play's `hosts`: a non-empty string or list of strings.
fn validate_hosts(h: &Node) -> Result<()> {
    let bad = |m: String| Err(Error::at(m, &h.span));
    match &h.kind {
        Kind::Str(s) | Kind::Unsafe(s) if s.is_empty() => {
            bad("Hosts list cannot be empty. Please check your playbook".into())
        }
        Kind::Str(_) | Kind::Unsafe(_) | Kind::Vault(_) => Ok(()),
        Kind::Seq(items) if items.is_empty() => {
            bad("Hosts list cannot be empty. Please check your playbook".into())
        }
        Kind::Seq(items) => {
            for item in items {
                match &item.kind {
                    Kind::Null => return bad(
                        "Hosts list cannot contain values of 'None'. Please check your playbook"
                            .into(),
                    ),
                    Kind::Str(_) | Kind::Unsafe(_) | Kind::Vault(_) => {}
                    _ => {
                        return bad(format!(
                            "Hosts list contains an invalid host value: '{}'",
                            crate::template::to_python_str(&item.to_json())
                        ))
                    }
                }
            }
            Ok(())
        }
        _ => bad("Hosts list must be a sequence or string. Please check your playbook.".into()),
    }
}

/// A play's `user` is the old spelling of `remote_user` (both at once is an error).
fn play_user_as_remote_user(node: &Node, map: &Mapping) -> Result<Option<Mapping>> {
    if !map.entries.contains_key("user") {
        return Ok(None);
    }
    if map.entries.contains_key("remote_user") {
        return Err(Error::at(
            "both 'user' and 'remote_user' are set for this play. The use of 'user' is deprecated, and should be removed",
            &node.span,
        ));
    }
    let mut m = map.clone();
    if let Some(e) = m.entries.shift_remove("user") {
        m.entries.insert("remote_user".into(), e);
    }
    Ok(Some(m))
}

/// `meta: end_role` ends the role it is in: a handler (which runs outside its role) or a
/// task outside any role cannot use it.
fn check_end_role(args: &Mapping, ctx: &Ctx, span: &Span) -> Result<()> {
    if args.get("_raw_params").and_then(scalar_string).as_deref() != Some("end_role") {
        return Ok(());
    }
    if ctx.handlers {
        return Err(Error::at("Cannot execute 'end_role' from a handler", span));
    }
    if ctx.role.is_none() {
        return Err(Error::at(
            "Cannot execute 'end_role' from outside of a role",
            span,
        ));
    }
    Ok(())
}

/// A role's `tasks_from` / `handlers_from` may name a subdirectory but not leave the
/// role's directory (compared as normalised paths, as Ansible does).
fn inside_role(found: &Path, dir: &Path, role: &str, span: &Span) -> Result<()> {
    let f = crate::template::filters::normpath(&found.to_string_lossy());
    let d = crate::template::filters::normpath(&dir.to_string_lossy());
    if f.starts_with(&format!("{}/", d.trim_end_matches('/'))) {
        return Ok(());
    }
    Err(Error::at(
        format!(
            "Failed loading ''{f}'' for role ({role}) as it is not inside the expected role path: '{d}'",
            f = found.display(),
            d = dir.display()
        ),
        span,
    )
    .general())
}

/// `action: copy src=a` or `action: {module: copy, src: a}`.
fn split_action_value(v: &Node) -> Result<(String, Node)> {
    match &v.kind {
        Kind::Str(s) => {
            let s = s.trim();
            let (name, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
            Ok((name.to_string(), Node::string(rest.trim(), v.span.clone())))
        }
        Kind::Map(m) => {
            let name = m
                .get("module")
                .and_then(scalar_string)
                .ok_or_else(|| Error::at("no module/action detected in task.", &v.span))?;
            let mut args = m.clone();
            args.entries.shift_remove("module");
            Ok((name, Node::new(Kind::Map(args), v.span.clone())))
        }
        _ => Err(Error::at("no module/action detected in task.", &v.span)),
    }
}

/// Arguments named `_ansible_*` carry Ansible's internal settings to modules: a task may
/// not set them itself (except through the free-form text of command-like modules).
fn reject_internal_args(short: &str, written: &str, args: &Mapping) -> Result<()> {
    if matches!(short, "command" | "shell" | "raw" | "script") {
        return Ok(());
    }
    match args.entries.keys().find(|k| k.starts_with("_ansible_")) {
        Some(k) => Err(Error::new(format!(
            "Invalid parameter specified beginning with keyword '_ansible_' for action \
             '{written}': '{k}'. The prefix '_ansible_' is reserved for internal use only."
        ))
        // a plain AnsibleError in Ansible, not a parser error: exit code 1
        .general()),
        None => Ok(()),
    }
}

/// The arguments of an action from the value written after its name.
fn action_args(short: &str, raw: &Node) -> Result<Mapping> {
    match &raw.kind {
        Kind::Null => Ok(Mapping::default()),
        Kind::Map(m) => Ok(m.clone()),
        Kind::Str(s) | Kind::Unsafe(s) => {
            let free = FREE_FORM.contains(&short);
            let keys: &[&str] = match short {
                "command" | "shell" => &[
                    "chdir",
                    "creates",
                    "removes",
                    "executable",
                    "stdin",
                    "stdin_add_newline",
                    "strip_empty_ends",
                    "argv",
                    "cmd",
                    "expand_argument_vars",
                ],
                "script" => &[
                    "chdir",
                    "creates",
                    "removes",
                    "executable",
                    "decrypt",
                    "cmd",
                ],
                "raw" => &["executable"],
                "include_tasks" | "import_tasks" => &["file", "apply"],
                "include_vars" => &[
                    "file",
                    "dir",
                    "name",
                    "depth",
                    "files_matching",
                    "ignore_files",
                    "extensions",
                    "ignore_unknown_extensions",
                    "hash_behaviour",
                ],
                _ => &[],
            };
            let parsed = parse_kv(s, free, keys);
            let mut m = Mapping::default();
            for (k, v) in parsed {
                m.insert(
                    k,
                    raw.span.clone(),
                    Node::new(
                        if matches!(raw.kind, Kind::Unsafe(_)) {
                            Kind::Unsafe(v)
                        } else {
                            Kind::Str(v)
                        },
                        raw.span.clone(),
                    ),
                );
            }
            Ok(m)
        }
        Kind::Vault(_) => Err(Error::at(
            format!("the arguments of '{short}' are vault-encrypted as a whole, which play does not support"),
            &raw.span,
        )
        .with_hint("encrypt the values that are secret, inside a mapping of arguments")),
        // Ansible names the Python type it got (its tagged subclasses for YAML values).
        other => {
            let class = match other {
                Kind::Bool(_) => "bool",
                Kind::Int(_) => "ansible.module_utils._internal._datatag._AnsibleTaggedInt",
                Kind::Float(_) => "ansible.module_utils._internal._datatag._AnsibleTaggedFloat",
                _ => "ansible.module_utils._internal._datatag._AnsibleTaggedList",
            };
            Err(Error::at(
                format!("unexpected parameter type in action: <class '{class}'>"),
                &raw.span,
            ))
        }
    }
}

impl Mapping {
    /// A stable text form, for deduplicating role uses by their parameters.
    pub fn to_json_string(&self) -> String {
        serde_json::Value::Object(self.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            .to_string()
    }
}

/// Load a vars file for `vars_files` / `include_vars`.
pub fn load_vars(path: &Path) -> Result<Mapping> {
    load_vars_files(&[path.to_path_buf()])
}

/// The arguments of include_tasks/import_tasks/include_role/import_role, checked as Ansible
/// checks them when it loads the task.
fn check_include_args(task: &Task, node: &Node) -> Result<()> {
    const TASK_ARGS: &[&str] = &["file", "_raw_params", "apply"];
    const ROLE_FROM: &[&str] = &["tasks_from", "vars_from", "defaults_from", "handlers_from"];
    const ROLE_ARGS: &[&str] = &[
        "name",
        "role",
        "tasks_from",
        "vars_from",
        "defaults_from",
        "handlers_from",
        "apply",
        "public",
        "allow_duplicates",
        "rolespec_validate",
        "rescuable",
    ];
    let action = task.action_written.as_str();
    let (valid, is_role) = match task.action.as_str() {
        "include_tasks" | "import_tasks" => (TASK_ARGS, false),
        "include_role" | "import_role" => (ROLE_ARGS, true),
        _ => return Ok(()),
    };
    let err = |msg: String| Err(Error::at(msg, &node.span));
    if is_role
        && task
            .args
            .get("name")
            .or_else(|| task.args.get("role"))
            .is_none()
    {
        return err(format!("'name' is a required field for {action}."));
    }
    let mut bad: Vec<&str> = task
        .args
        .keys()
        .map(String::as_str)
        .filter(|k| !valid.contains(k))
        .collect();
    if !bad.is_empty() {
        bad.sort_unstable();
        return err(format!("Invalid options for {action}: {}", bad.join(",")));
    }
    if !is_role {
        let file = task
            .args
            .get("_raw_params")
            .or_else(|| task.args.get("file"));
        if file.is_none_or(|f| f.is_null() || scalar_string(f).is_some_and(|s| s.is_empty())) {
            return err(format!("No file specified for {action}"));
        }
    }
    for key in ROLE_FROM.iter().filter(|_| is_role) {
        if let Some(v) = task.args.get(key) {
            if !matches!(v.kind, Kind::Str(_) | Kind::Unsafe(_) | Kind::Vault(_)) {
                return err(format!(
                    "Expected a string for {key} but got <class '{}'> instead",
                    v.type_name()
                ));
            }
        }
    }
    let include = matches!(task.action.as_str(), "include_tasks" | "include_role");
    // `apply` was taken out of the arguments (as keywords) when the task was loaded.
    let apply = node
        .as_map()
        .and_then(|m| m.get(&task.action_written))
        .and_then(Node::as_map)
        .and_then(|args| args.get("apply"));
    if apply.is_some_and(|a| a.as_map().is_some_and(|m| !m.is_empty())) && !include {
        return err(format!("Invalid options for {action}: apply"));
    }
    if is_role
        && !include
        && task
            .args
            .get("rescuable")
            .is_some_and(|v| v.as_bool() != Some(false))
    {
        return err(format!("Invalid options for {action}: rescuable"));
    }
    Ok(())
}
