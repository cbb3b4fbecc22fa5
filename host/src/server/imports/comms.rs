//! The channel, help and execute imports (`channel-*`, `help-topics`, `execute-cmd`): who may do
//! what, the limits (each refusal names its config key), then the world store's channels
//! (`store/channels.rs`), the help folder (`server/help.rs`) or the game's queue of executed
//! lines (`server/game/exec_queue.rs`).

use std::collections::HashSet;

use crate::link::Sessid;
use crate::server::game::Game;
use crate::shared::ids::{AccountId, ObjectId};
use crate::store::Channel;
use crate::wasm::bindings::mudhost::game::host::{ChannelInfo, HelpTopic};
use crate::wasm::bindings::types::HostError;
use crate::wasm::bindings::{store_failure, Answer};
use crate::wasm::{HostCtx, QuotaExceeded};

/// Evennia's refusal for a channel name that matches nothing.
fn no_channel(name: &str) -> HostError {
    HostError::NotFound(format!(
        "No channel found matching '{name}' (could also be due to missing access)."
    ))
}

impl HostCtx<Game> {
    /// The calling session's account, or the refusal a session not logged in gets.
    fn comms_account(&self) -> Result<AccountId, HostError> {
        self.game
            .sessions
            .get(self.caller)
            .and_then(|s| s.data.uid)
            .ok_or_else(|| HostError::Denied("You must be logged in to use channels.".into()))
    }

    /// A channel by name or alias, or Evennia's refusal.
    fn comms_channel(&self, name: &str) -> Answer<Channel> {
        let name = name.trim();
        self.comms_name_len("the channel name", name)?;
        Ok(self.game.world.channel_find(name)?.ok_or_else(|| no_channel(name))?)
    }

    /// Refuse a channel name or alias over `channel_name_chars`.
    fn comms_name_len(&self, what: &str, name: &str) -> Result<(), HostError> {
        let max = self.game.cfg.channel_name_chars;
        if name.chars().count() > max {
            return Err(HostError::Invalid(format!(
                "{what} is longer than channel_name_chars ({max} characters)."
            )));
        }
        Ok(())
    }

    /// Whether the calling account controls a channel: its owner, an Admin (or above) or a
    /// superuser (Evennia's `control` lock).
    fn comms_controls(&self, account: AccountId, channel: &Channel) -> bool {
        let (superuser, permission) = self.game.lock_caller(self.caller);
        let admin = crate::cmd::CmdLock::parse("cmd:perm(Admin)")
            .allows(&crate::cmd::LockCaller { superuser, permission: permission.as_deref() });
        admin || channel.owner == Some(account)
    }

    fn account_display(&self, id: AccountId) -> String {
        self.game.world.account(id).map(|a| a.name.clone()).unwrap_or_else(|| format!("#{id}"))
    }

    /// `channel-list`. Nothing to refuse: a database failure ends the call (it used to answer
    /// an empty list).
    pub(super) fn comms_list(&mut self) -> wasmtime::Result<Vec<ChannelInfo>> {
        let me = self.comms_account().ok();
        let world = &self.game.world;
        let mut out = Vec::new();
        for c in world.channels().map_err(store_failure)? {
            let subs = world.channel_subscribers(c.id).map_err(store_failure)?;
            let mine = me.and_then(|m| subs.iter().find(|(a, _)| *a == m));
            out.push(ChannelInfo {
                owner: c.owner.map(|o| self.account_display(o)),
                subscribed: mine.is_some(),
                muted: mine.is_some_and(|(_, muted)| *muted),
                subscribers: subs.len() as u32,
                name: c.name,
                aliases: c.aliases,
                description: c.description,
            });
        }
        Ok(out)
    }

    /// `channel-create`.
    pub(super) fn comms_create(
        &mut self,
        name: String,
        aliases: Vec<String>,
        description: String,
    ) -> Answer<()> {
        let me = self.comms_account()?;
        let cfg = self.game.cfg.clone();
        let name = name.trim();
        if name.is_empty() {
            return Err(HostError::Invalid(
                "To create: channel/create name[;aliases] [= description]".into(),
            )
            .into());
        }
        if aliases.len() > self.quotas.list_items {
            return Err(HostError::Quota(format!(
                "over guest_list_items ({} aliases)",
                self.quotas.list_items
            ))
            .into());
        }
        let aliases: Vec<String> = aliases
            .iter()
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty() && !a.eq_ignore_ascii_case(name))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for n in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
            self.comms_name_len("A channel name or alias", n)?;
            // A channel's name becomes a command: one word of letters, digits and `-_.'`.
            if n.starts_with("__") || !n.chars().all(|c| c.is_alphanumeric() || "-_.'".contains(c))
            {
                return Err(HostError::Invalid(format!(
                    "'{n}' is not a valid channel name (letters, digits and - _ . ' only)."
                ))
                .into());
            }
        }
        if description.chars().count() > cfg.channel_message_chars {
            return Err(HostError::Invalid(format!(
                "The description is longer than channel_message_chars ({} characters).",
                cfg.channel_message_chars
            ))
            .into());
        }
        let world = &mut self.game.world;
        let existing = world.channels()?;
        if existing.len() >= cfg.channel_max_count {
            return Err(HostError::Refused(format!(
                "There are already channel_max_count ({}) channels.",
                cfg.channel_max_count
            ))
            .into());
        }
        for n in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
            if existing.iter().any(|c| c.answers_to(n)) {
                return Err(HostError::Refused(format!("Channel {n} already exists.")).into());
            }
        }
        let id = world.channel_create(name, &aliases, &description, Some(me))?;
        Ok(world.channel_subscribe(id, me)?)
    }

    /// `channel-sub`.
    pub(super) fn comms_sub(&mut self, name: String) -> Answer<String> {
        let me = self.comms_account()?;
        let c = self.comms_channel(&name)?;
        let max = self.game.cfg.channel_max_subscribers;
        let world = &mut self.game.world;
        if world.channel_banned(c.id, me)? {
            return Err(
                HostError::Denied(format!("You are banned from channel {}.", c.name)).into()
            );
        }
        if world.channel_subscription(c.id, me)?.is_some() {
            return Err(
                HostError::Refused(format!("Already listening to channel {}.", c.name)).into()
            );
        }
        if world.channel_subscribers(c.id)?.len() >= max {
            return Err(HostError::Refused(format!(
                "Channel {} is full (channel_max_subscribers: {max} subscribers).",
                c.name
            ))
            .into());
        }
        world.channel_subscribe(c.id, me)?;
        Ok(c.name)
    }

    /// `channel-unsub`.
    pub(super) fn comms_unsub(&mut self, name: String) -> Answer<String> {
        let me = self.comms_account()?;
        let c = self.comms_channel(&name)?;
        let world = &mut self.game.world;
        if world.channel_subscription(c.id, me)?.is_none() {
            return Err(HostError::Refused(format!("Not listening to channel {}.", c.name)).into());
        }
        world.channel_unsubscribe(c.id, me)?;
        Ok(c.name)
    }

    /// `channel-mute`.
    pub(super) fn comms_mute(&mut self, name: String, muted: bool) -> Answer<String> {
        let me = self.comms_account()?;
        let c = self.comms_channel(&name)?;
        let world = &mut self.game.world;
        match world.channel_subscription(c.id, me)? {
            None => Err(HostError::Refused(format!("Not listening to channel {}.", c.name)).into()),
            Some(m) if m == muted => Err(HostError::Refused(format!(
                "Channel {} was already {}.",
                c.name,
                if muted { "muted" } else { "unmuted" }
            ))
            .into()),
            Some(_) => {
                world.channel_set_muted(c.id, me, muted)?;
                Ok(c.name)
            }
        }
    }

    /// The channel, if the calling account subscribes to it.
    fn comms_subscribed(&self, name: &str) -> Answer<(AccountId, Channel)> {
        let me = self.comms_account()?;
        let c = self.comms_channel(name)?;
        if self.game.world.channel_subscription(c.id, me)?.is_none() {
            return Err(HostError::Denied(format!(
                "You are not subscribed to channel {}.",
                c.name
            ))
            .into());
        }
        Ok((me, c))
    }

    /// `channel-who`: one pass over the sessions for who is online.
    pub(super) fn comms_who(&mut self, name: String) -> Answer<Vec<String>> {
        let (_, c) = self.comms_subscribed(&name)?;
        let online: HashSet<AccountId> = self
            .game
            .sessions
            .ids()
            .into_iter()
            .filter_map(|id| {
                self.game.sessions.get(id).filter(|s| s.data.logged_in).and_then(|s| s.data.uid)
            })
            .collect();
        let subs = self.game.world.channel_subscribers(c.id)?;
        let mut names: Vec<String> = subs
            .into_iter()
            .map(|(a, muted)| {
                let marks: Vec<&str> = [(muted, "muting"), (!online.contains(&a), "offline")]
                    .into_iter()
                    .filter_map(|(on, m)| on.then_some(m))
                    .collect();
                let marks = if marks.is_empty() {
                    String::new()
                } else {
                    format!("({})", marks.join(", "))
                };
                format!("{}{marks}", self.account_display(a))
            })
            .collect();
        names.sort_by_key(|n| n.to_lowercase());
        Ok(names)
    }

    /// `channel-history`.
    pub(super) fn comms_history(&mut self, name: String, count: u32) -> Answer<Vec<String>> {
        let (_, c) = self.comms_subscribed(&name)?;
        let n = (count as usize).min(self.game.cfg.channel_history_size);
        let rows = self.game.world.channel_history(c.id, n)?;
        Ok(rows.into_iter().map(|(_, text)| text).collect())
    }

    /// `channel-ban`.
    pub(super) fn comms_ban(
        &mut self,
        name: String,
        account: String,
        banned: bool,
    ) -> Answer<String> {
        let me = self.comms_account()?;
        let c = self.comms_channel(&name)?;
        if !self.comms_controls(me, &c) {
            return Err(HostError::Denied(format!(
                "You don't have access to {} users on channel {}",
                if banned { "ban" } else { "unban" },
                c.name
            ))
            .into());
        }
        if account.len() > self.quotas.name_bytes {
            return Err(HostError::Quota(format!(
                "the account name is over guest_name_bytes ({} bytes)",
                self.quotas.name_bytes
            ))
            .into());
        }
        let target = self
            .game
            .world
            .account_by_name(account.trim())
            .map(|a| (a.id, a.name.clone()))
            .ok_or_else(|| {
                HostError::NotFound(format!("Could not find account '{}'.", account.trim()))
            })?;
        let world = &mut self.game.world;
        let was = world.channel_banned(c.id, target.0)?;
        if banned && was {
            return Err(HostError::Refused(format!(
                "{} is already banned from this channel.",
                target.1
            ))
            .into());
        }
        if !banned && !was {
            return Err(HostError::Refused(format!(
                "{} was not previously banned from this channel.",
                target.1
            ))
            .into());
        }
        world.channel_set_banned(c.id, target.0, banned)?;
        Ok(target.1)
    }

    /// `channel-bans`.
    pub(super) fn comms_bans(&mut self, name: String) -> Answer<Vec<String>> {
        let me = self.comms_account()?;
        let c = self.comms_channel(&name)?;
        if !self.comms_controls(me, &c) {
            return Err(HostError::Denied(format!(
                "You need 'control'-access to view bans on channel {}",
                c.name
            ))
            .into());
        }
        let ids = self.game.world.channel_bans(c.id)?;
        Ok(ids.into_iter().map(|a| self.account_display(a)).collect())
    }

    /// `channel-send`: Evennia's `[channel] Sender: text` to every session of every subscribed
    /// account that has not muted the channel, found in one pass over the sessions, and the
    /// history. Output counts against the call's quotas like any message (an over-quota send
    /// ends the call, undoing the history line too).
    pub(super) fn comms_send(
        &mut self,
        name: String,
        text: String,
    ) -> wasmtime::Result<Result<(), HostError>> {
        let (me, c) = match self.comms_subscribed(&name) {
            Ok(x) => x,
            Err(e) => return crate::wasm::bindings::answer(Err(e)),
        };
        let max = self.game.cfg.channel_message_chars;
        let text = text.trim();
        if text.is_empty() {
            return Ok(Err(HostError::Invalid(format!("Usage: {} <message>", c.name))));
        }
        if text.chars().count() > max {
            return Ok(Err(HostError::Invalid(format!(
                "Your message is longer than channel_message_chars ({max} characters)."
            ))));
        }
        let line = format!("[{}] {}: {text}", c.name, self.account_display(me));
        let subs = self.game.world.channel_subscribers(c.id).map_err(store_failure)?;
        let listening: HashSet<AccountId> =
            subs.into_iter().filter(|(_, muted)| !muted).map(|(a, _)| a).collect();
        let keep = self.game.cfg.channel_history_size;
        let now = crate::shared::clock::now_ms();
        self.game.world.channel_history_add(c.id, now, &line, keep).map_err(store_failure)?;
        let mut to: Vec<Sessid> = self
            .game
            .sessions
            .ids()
            .into_iter()
            .filter(|id| {
                self.game.sessions.get(*id).is_some_and(|s| {
                    s.data.logged_in && s.data.uid.is_some_and(|u| listening.contains(&u))
                })
            })
            .collect();
        to.sort_unstable();
        self.deliver(to, line)?;
        Ok(Ok(()))
    }

    /// `help-topics`: the help folder's topics the caller may read.
    pub(super) fn comms_help_topics(&mut self) -> Vec<HelpTopic> {
        let (superuser, permission) = self.game.lock_caller(self.caller);
        let who = crate::cmd::LockCaller { superuser, permission: permission.as_deref() };
        let cfg = self.game.cfg.clone();
        let topics = self.game.help.topics(&cfg);
        topics
            .iter()
            .filter(|t| t.lock.allows(&who))
            .map(|t| HelpTopic {
                key: t.key.clone(),
                aliases: t.aliases.clone(),
                category: t.category.clone(),
            })
            .collect()
    }

    /// `help-topic-text`: one readable topic's text.
    pub(super) fn comms_help_text(&mut self, topic: &str) -> Option<String> {
        let (superuser, permission) = self.game.lock_caller(self.caller);
        let who = crate::cmd::LockCaller { superuser, permission: permission.as_deref() };
        let cfg = self.game.cfg.clone();
        let topic = topic.trim();
        self.game
            .help
            .topics(&cfg)
            .iter()
            .filter(|t| t.lock.allows(&who))
            .find(|t| {
                t.key.eq_ignore_ascii_case(topic)
                    || t.aliases.iter().any(|a| a.eq_ignore_ascii_case(topic))
            })
            .map(|t| t.text.clone())
    }

    /// `execute-cmd`: queue the line for the session puppeting `obj`, within the limits.
    pub(super) fn comms_execute(
        &mut self,
        obj: u64,
        line: String,
    ) -> wasmtime::Result<Result<(), HostError>> {
        if line.len() > self.quotas.text_bytes {
            return Err(wasmtime::Error::new(QuotaExceeded(format!(
                "the command line is over guest_text_bytes ({} bytes)",
                self.quotas.text_bytes
            ))));
        }
        Ok(self.game.queue_execute(ObjectId::new(obj), line).map_err(HostError::Refused))
    }
}
