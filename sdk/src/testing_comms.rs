//! The test host's channels, help topics and `execute-cmd`: channels as the host keeps them
//! (public with alias pub, subscriptions with mute, bans, history, delivery to every session of
//! subscribed accounts), help topics a test sets ([`TestHost::set_help_topics`]), and executed
//! lines recorded, not run ([`TestHost::executed`]: the fake has no command dispatcher).

use std::collections::{BTreeMap, BTreeSet};

use super::{with, Sent, State, TestHost};
use crate::bindings::mudhost::game::host::{ChannelInfo, HelpTopic};
use crate::{AccountId, HostError, ObjectId};

/// One fake channel.
pub(super) struct FakeChannel {
    name: String,
    aliases: Vec<String>,
    description: String,
    owner: Option<AccountId>,
    subs: BTreeMap<AccountId, bool>,
    bans: BTreeSet<AccountId>,
    history: Vec<String>,
}

/// The fake's comms state.
pub(super) struct CommsState {
    channels: Vec<FakeChannel>,
    help: Vec<(HelpTopic, String)>,
    executed: Vec<(ObjectId, String)>,
}

impl Default for CommsState {
    fn default() -> Self {
        CommsState {
            channels: vec![FakeChannel {
                name: "public".into(),
                aliases: vec!["pub".into()],
                description: "Public discussion".into(),
                owner: None,
                subs: BTreeMap::new(),
                bans: BTreeSet::new(),
                history: vec![],
            }],
            help: vec![],
            executed: vec![],
        }
    }
}

impl TestHost {
    /// The help topics `help-topics` returns, each with its text (as if read from the game's
    /// help folder).
    pub fn set_help_topics(&self, topics: Vec<(HelpTopic, String)>) {
        with(|s| s.comms.help = topics)
    }

    /// The lines `execute-cmd` was asked to run, with the character, in order.
    pub fn executed(&self) -> Vec<(ObjectId, String)> {
        with(|s| s.comms.executed.clone())
    }

    /// Subscribe an account to a channel (by name), as a new account joins `public`.
    pub fn subscribe(&self, account: crate::Account, channel: &str) {
        with(|s| {
            if let Some(c) = s.comms.channels.iter_mut().find(|c| c.name == channel) {
                c.subs.insert(account.0, false);
            }
        })
    }
}

fn find<'a>(s: &'a mut State, name: &str) -> Result<&'a mut FakeChannel, HostError> {
    let name = name.trim();
    s.comms
        .channels
        .iter_mut()
        .find(|c| {
            c.name.eq_ignore_ascii_case(name)
                || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| {
            HostError::NotFound(format!(
                "No channel found matching '{name}' (could also be due to missing access)."
            ))
        })
}

/// The calling session's account (none during a timer firing, which has no caller).
fn caller_account(s: &State) -> Option<AccountId> {
    s.current.and_then(|c| s.sessions.get(&c)).and_then(|d| d.info.account)
}

fn me(s: &State) -> Result<AccountId, HostError> {
    caller_account(s)
        .ok_or_else(|| HostError::Denied("You must be logged in to use channels.".into()))
}

fn account_name(s: &State, id: AccountId) -> String {
    s.accounts.get(&id).map(|a| a.name.clone()).unwrap_or_else(|| format!("#{id}"))
}

pub fn channel_list() -> Vec<ChannelInfo> {
    with(|s| {
        let m = caller_account(s);
        let mut out: Vec<ChannelInfo> = s
            .comms
            .channels
            .iter()
            .map(|c| ChannelInfo {
                name: c.name.clone(),
                aliases: c.aliases.clone(),
                description: c.description.clone(),
                owner: c.owner.map(|o| account_name(s, o)),
                subscribed: m.is_some_and(|m| c.subs.contains_key(&m)),
                muted: m.and_then(|m| c.subs.get(&m).copied()).unwrap_or(false),
                subscribers: c.subs.len() as u32,
            })
            .collect();
        out.sort_by_key(|c| c.name.to_lowercase());
        out
    })
}

pub fn channel_create(name: &str, aliases: &[String], description: &str) -> Result<(), HostError> {
    with(|s| {
        let m = me(s)?;
        let name = name.trim();
        let taken = |n: &str| {
            s.comms.channels.iter().any(|c| {
                c.name.eq_ignore_ascii_case(n)
                    || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(n))
            })
        };
        for n in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
            if taken(n) {
                return Err(HostError::Refused(format!("Channel {n} already exists.")));
            }
        }
        s.comms.channels.push(FakeChannel {
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_lowercase()).collect(),
            description: description.into(),
            owner: Some(m),
            subs: BTreeMap::from([(m, false)]),
            bans: BTreeSet::new(),
            history: vec![],
        });
        Ok(())
    })
}

pub fn channel_sub(channel: &str) -> Result<String, HostError> {
    with(|s| {
        let m = me(s)?;
        let c = find(s, channel)?;
        if c.bans.contains(&m) {
            return Err(HostError::Denied(format!("You are banned from channel {}.", c.name)));
        }
        if c.subs.insert(m, false).is_some() {
            return Err(HostError::Refused(format!("Already listening to channel {}.", c.name)));
        }
        Ok(c.name.clone())
    })
}

pub fn channel_unsub(channel: &str) -> Result<String, HostError> {
    with(|s| {
        let m = me(s)?;
        let c = find(s, channel)?;
        c.subs
            .remove(&m)
            .ok_or_else(|| HostError::Refused(format!("Not listening to channel {}.", c.name)))?;
        Ok(c.name.clone())
    })
}

pub fn channel_mute(channel: &str, muted: bool) -> Result<String, HostError> {
    with(|s| {
        let m = me(s)?;
        let c = find(s, channel)?;
        let sub = c
            .subs
            .get_mut(&m)
            .ok_or_else(|| HostError::Refused(format!("Not listening to channel {}.", c.name)))?;
        if *sub == muted {
            let state = if muted { "muted" } else { "unmuted" };
            return Err(HostError::Refused(format!("Channel {} was already {state}.", c.name)));
        }
        *sub = muted;
        Ok(c.name.clone())
    })
}

pub fn channel_who(channel: &str) -> Result<Vec<String>, HostError> {
    with(|s| {
        let m = me(s)?;
        let c = find(s, channel)?;
        if !c.subs.contains_key(&m) {
            return Err(HostError::Denied(format!(
                "You are not subscribed to channel {}.",
                c.name
            )));
        }
        let subs: Vec<(AccountId, bool)> = c.subs.iter().map(|(a, m)| (*a, *m)).collect();
        Ok(subs
            .into_iter()
            .map(|(a, muted)| {
                format!("{}{}", account_name(s, a), if muted { "(muting)" } else { "" })
            })
            .collect())
    })
}

pub fn channel_history(channel: &str, count: u32) -> Result<Vec<String>, HostError> {
    with(|s| {
        let m = me(s)?;
        let c = find(s, channel)?;
        if !c.subs.contains_key(&m) {
            return Err(HostError::Denied(format!(
                "You are not subscribed to channel {}.",
                c.name
            )));
        }
        let skip = c.history.len().saturating_sub(count as usize);
        Ok(c.history[skip..].to_vec())
    })
}

pub fn channel_ban(channel: &str, account: &str, banned: bool) -> Result<String, HostError> {
    with(|s| {
        let m = me(s)?;
        let admin = s
            .accounts
            .get(&m)
            .is_some_and(|a| a.superuser || a.permission == "Admin" || a.permission == "Developer");
        let target = s
            .accounts
            .iter()
            .find(|(_, a)| a.name.eq_ignore_ascii_case(account.trim()))
            .map(|(id, a)| (*id, a.name.clone()))
            .ok_or_else(|| {
                HostError::NotFound(format!("Could not find account '{}'.", account.trim()))
            })?;
        let c = find(s, channel)?;
        if !admin && c.owner != Some(m) {
            let what = if banned { "ban" } else { "unban" };
            return Err(HostError::Denied(format!(
                "You don't have access to {what} users on channel {}",
                c.name
            )));
        }
        if banned {
            if !c.bans.insert(target.0) {
                return Err(HostError::Refused(format!(
                    "{} is already banned from this channel.",
                    target.1
                )));
            }
            c.subs.remove(&target.0);
        } else if !c.bans.remove(&target.0) {
            return Err(HostError::Refused(format!(
                "{} was not previously banned from this channel.",
                target.1
            )));
        }
        Ok(target.1)
    })
}

pub fn channel_bans(channel: &str) -> Result<Vec<String>, HostError> {
    with(|s| {
        let c = find(s, channel)?;
        let bans: Vec<AccountId> = c.bans.iter().copied().collect();
        Ok(bans.into_iter().map(|a| account_name(s, a)).collect())
    })
}

pub fn channel_send(channel: &str, text: &str) -> Result<(), HostError> {
    with(|s| {
        let m = me(s)?;
        let sender = account_name(s, m);
        let c = find(s, channel)?;
        if !c.subs.contains_key(&m) {
            return Err(HostError::Denied(format!(
                "You are not subscribed to channel {}.",
                c.name
            )));
        }
        let line = format!("[{}] {sender}: {}", c.name, text.trim());
        c.history.push(line.clone());
        let listening: BTreeSet<AccountId> =
            c.subs.iter().filter(|(_, m)| !**m).map(|(a, _)| *a).collect();
        let to: Vec<u64> = s
            .infos(|i| i.account.is_some_and(|a| listening.contains(&a)))
            .iter()
            .map(|i| i.sessid)
            .collect();
        for id in to {
            s.send(id, Sent::Text(line.clone()));
        }
        Ok(())
    })
}

pub fn help_topics() -> Vec<HelpTopic> {
    with(|s| s.comms.help.iter().map(|(t, _)| t.clone()).collect())
}

pub fn help_topic_text(topic: &str) -> Option<String> {
    let topic = topic.trim();
    with(|s| {
        s.comms
            .help
            .iter()
            .find(|(t, _)| {
                t.key.eq_ignore_ascii_case(topic)
                    || t.aliases.iter().any(|a| a.eq_ignore_ascii_case(topic))
            })
            .map(|(_, text)| text.clone())
    })
}

pub fn execute_cmd(obj: ObjectId, line: &str) -> Result<(), HostError> {
    with(|s| {
        if !s.objects.contains_key(&obj) {
            return Err(HostError::Refused(format!("no object #{obj}")));
        }
        s.comms.executed.push((obj, line.to_string()));
        Ok(())
    })
}
