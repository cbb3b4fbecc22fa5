"""mudhost's Python SDK: game commands in Python, built into a sandboxed WebAssembly module.

The vocabulary is Evennia's. A module is one plugin kind:

- a **cmdset** (Evennia's CmdSet): subclass :class:`Command` for each command (``key``,
  ``aliases``, ``help``, ``locks``, ``func``), list them in a :class:`CmdSet`, and export the set
  with ``Cmdset = cmdset(MyCmdSet)`` in the module's ``app.py``;
- an **input hook** (Evennia's INPUT_HOOKS): subclass :class:`InputHook` and export it with
  ``InputHook = input_hook(MyHook)`` beside the cmdset (build with ``-w input-hook-module``);
- a **session class** (Evennia's SERVER_SESSION_CLASS): subclass :class:`SessionClass` and export
  it with ``SessionClass = session_class(MyClass)`` beside the cmdset (``-w session-class-module``).

``cargo xtask guests`` builds every folder of ``guest-examples/python/`` with componentize-py
against ``wit/mudhost.wit``; the module name is the ``.wasm`` file's stem.

The host keeps a module's instance between calls while they succeed, so module globals live on
from one call to the next (as in Evennia); a call that raises, overruns its deadline or its
memory cap is undone completely (the player sees "An untrapped error occurred.", the log gets one
line with the traceback) and the next call starts a fresh instance. Keep what must last in
attributes (:meth:`Obj.set_attr`), which are saved with the world.

``random`` works, but its numbers are a deterministic stream per module (the host gives no
ambient randomness): fine for dice, never for secrets.
"""

import json

from wit_world.imports import host, types

__all__ = [
    "Command",
    "CmdSet",
    "CommandError",
    "Invocation",
    "Obj",
    "InputHook",
    "SessionClass",
    "Message",
    "PASS",
    "cmdset",
    "input_hook",
    "session_class",
    "host",
    "types",
]

Message = types.Message


class CommandError(Exception):
    """Raised in ``func`` to end the command with a message to the caller (Evennia's
    ``InterruptCommand`` with a text); nothing the command did is undone."""


class Obj:
    """A handle on an object in the world (Evennia's typeclassed object, by id)."""

    __slots__ = ("id",)

    def __init__(self, id):
        self.id = id

    def __eq__(self, other):
        return isinstance(other, Obj) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"#{self.id}"

    @property
    def key(self):
        """The object's name (``None`` if it no longer exists)."""
        return host.object_key(self.id)

    @property
    def name(self):
        """The name to show players."""
        return host.object_key(self.id) or f"#{self.id}"

    @property
    def kind(self):
        """Its kind: "room", "exit", "character", "thing", ..."""
        return host.object_kind(self.id)

    @property
    def location(self):
        """Where it is (``None`` when nowhere)."""
        loc = host.object_location(self.id)
        return None if loc is None else Obj(loc)

    @property
    def contents(self):
        """What it holds."""
        return [Obj(i) for i in host.object_contents(self.id)]

    def attr(self, key):
        """An attribute's value (a string), or ``None``."""
        return host.object_attr_get(self.id, key)

    def set_attr(self, key, value):
        """Set (or, with ``None``, delete) an attribute, saved with the world."""
        host.object_attr_set(self.id, key, value)

    def msg(self, text):
        """Send text to the sessions puppeting this object (Evennia's ``obj.msg``)."""
        host.msg_object(self.id, text)

    def msg_contents(self, text, exclude=()):
        """Send text to everything inside this object (a room's occupants), but ``exclude``."""
        host.msg_contents(self.id, text, [o.id for o in exclude])

    def move_to(self, destination):
        """Move into ``destination`` (an :class:`Obj`, or ``None`` for nowhere)."""
        host.object_move(self.id, None if destination is None else destination.id)

    @staticmethod
    def search(key, location=None):
        """Objects named ``key`` (case-insensitive), optionally only those in ``location``."""
        loc = None if location is None else location.id
        return [Obj(i) for i in host.object_search(key, loc)]

    @staticmethod
    def create(key, kind, location=None):
        """Create an object (counts against the call's object quota)."""
        return Obj(host.object_create(key, kind, None if location is None else location.id))


class Invocation:
    """One run of a command: what was typed and who typed it (Evennia's command attributes)."""

    def __init__(self, inv):
        self.raw_inv = inv
        #: The command's key (the name it was declared with).
        self.key = inv.key
        #: The name the player typed (the key or an alias).
        self.cmdname = inv.cmdname
        #: Everything after the command name, as typed.
        self.args = inv.args
        #: The whole input line.
        self.raw_string = inv.raw
        #: The calling session (``types.SessionInfo``).
        self.session = inv.session
        #: Object matches the host found for a command lent by an object ("#id" strings).
        self.matches = list(inv.matches)

    @property
    def caller(self):
        """The puppeted character (Evennia's ``caller`` in a character cmdset), or ``None``."""
        puppet = self.session.puppet
        return None if puppet is None else Obj(puppet)

    @property
    def account(self):
        """The session's account id, or ``None`` when not logged in."""
        return self.session.account

    @property
    def obj(self):
        """The object that lent this command (a thing's cmdset), or ``None``."""
        for m in self.matches:
            if m.startswith("#") and m[1:].isdigit():
                return Obj(int(m[1:]))
        return None

    def msg(self, text):
        """Send text to the calling session (Evennia's ``self.msg``)."""
        host.msg_caller(text)


class Command:
    """A command (Evennia's ``Command``): set the class attributes and write ``func``.

    ``func(self, inv)`` gets an :class:`Invocation`; ``self.caller``, ``self.args`` and
    ``self.msg`` are there too, as in Evennia. Raise :class:`CommandError` to stop with a message.
    """

    #: What the player types.
    key = ""
    #: Other names for it.
    aliases = []
    #: The help text (first line: a summary).
    help = ""
    #: Evennia's lock string; ``cmd:all()`` lets everyone use it.
    locks = "cmd:all()"
    #: Help category.
    help_category = "General"
    #: Evennia's ``arg_regex`` (``None``: any arguments).
    arg_regex = None

    def __init__(self, inv):
        self.inv = inv
        self.caller = inv.caller
        self.args = inv.args
        self.cmdname = inv.cmdname
        self.session = inv.session

    def msg(self, text):
        """Send text to the caller."""
        host.msg_caller(text)

    def func(self, inv):
        """Run the command."""
        raise NotImplementedError(f"{type(self).__name__}.func")

    @classmethod
    def info(cls):
        return types.CommandInfo(
            key=cls.key,
            aliases=list(cls.aliases),
            help=cls.help,
            arg_regex=cls.arg_regex,
            locks=cls.locks,
            help_category=cls.help_category,
        )


class CmdSet:
    """A command set (Evennia's ``CmdSet``): its commands and how it merges with others."""

    key = "CmdSet"
    priority = 0
    #: "union", "intersect", "replace" or "remove".
    mergetype = "union"
    #: Evennia's ``key_mergetypes``: {other cmdset key: merge type}.
    key_mergetypes = {}
    duplicates = None
    no_exits = None
    no_objs = None
    #: The command classes.
    commands = []

    def at_load(self):
        """Called after every load, before the set serves: build the world it needs
        (idempotent: it runs again on every reload)."""

    def at_timer(self, timer):
        """One of this module's timers fired (``types.TimerInfo``)."""


_MERGE = {
    "union": types.MergeType.UNION,
    "intersect": types.MergeType.INTERSECT,
    "replace": types.MergeType.REPLACE,
    "remove": types.MergeType.REMOVE,
}


def cmdset(set_class):
    """The ``Cmdset`` export of a module serving ``set_class``: ``Cmdset = cmdset(MyCmdSet)``."""
    by_key = {c.key: c for c in set_class.commands}
    the_set = set_class()

    class Export:
        def info(self):
            return types.CmdsetInfo(
                key=set_class.key,
                priority=set_class.priority,
                merge_type=_MERGE[set_class.mergetype],
                duplicates=set_class.duplicates,
                no_exits=set_class.no_exits,
                no_objs=set_class.no_objs,
                commands=[c.info() for c in set_class.commands],
            )

        def at_load(self):
            the_set.at_load()

        def key_mergetypes(self):
            return [(k, _MERGE[v]) for k, v in set_class.key_mergetypes.items()]

        def execute(self, raw):
            inv = Invocation(raw)
            command = by_key[raw.key](inv)
            try:
                command.func(inv)
            except CommandError as stop:
                if str(stop):
                    host.msg_caller(str(stop))

        def at_timer(self, timer):
            the_set.at_timer(timer)

    return Export


#: What an input hook returns to let a message through unchanged.
PASS = types.HookResult_Pass()


class InputHook:
    """An input hook (Evennia's INPUT_HOOKS): sees every inbound message of every session
    before the input functions. ``data_in`` returns :data:`PASS`, :meth:`rewrite`,
    :meth:`split` or :meth:`swallow`."""

    def data_in(self, msg, session):
        return PASS

    @staticmethod
    def rewrite(cmdname, args, kwargs="{}"):
        """Replace the message (``args`` is the JSON array text, as the message carries it)."""
        return types.HookResult_Rewrite(types.Message(cmdname=cmdname, args=args, kwargs=kwargs))

    @staticmethod
    def rewrite_text(line):
        """Replace the message with a ``text`` input of ``line``."""
        return InputHook.rewrite("text", json.dumps([line]))

    @staticmethod
    def split(messages):
        """Replace the message with several."""
        return types.HookResult_Split(list(messages))

    @staticmethod
    def swallow(reply=None):
        """Drop the message, optionally telling the player ``reply``."""
        return types.HookResult_Swallow(reply)

    @staticmethod
    def text_of(msg):
        """The line of a ``text`` message, or ``None`` for any other input."""
        if msg.cmdname != "text":
            return None
        try:
            args = json.loads(msg.args)
        except ValueError:
            return None
        return args[0] if args and isinstance(args[0], str) else None


def input_hook(hook_class):
    """The ``InputHook`` export of a module: ``InputHook = input_hook(MyHook)``."""
    hook = hook_class()

    class Export:
        def data_in(self, msg, session):
            return hook.data_in(msg, session)

    return Export


class SessionClass:
    """A session class (Evennia's SERVER_SESSION_CLASS): hooks that run for every session."""

    def at_sync(self, session):
        """The session connected, or was restored after a server restart."""

    def at_login(self, session):
        """The session logged in."""

    def at_disconnect(self, session, reason):
        """The session is gone."""

    def data_in(self, msg, session):
        """An inbound message, after the input hooks."""
        return PASS

    def data_out(self, session, messages):
        """The messages the session is about to receive from one unit of work."""
        return messages


def session_class(class_):
    """The ``SessionClass`` export of a module: ``SessionClass = session_class(MyClass)``."""
    inst = class_()

    class Export:
        def at_sync(self, session):
            inst.at_sync(session)

        def at_login(self, session):
            inst.at_login(session)

        def at_disconnect(self, session, reason):
            inst.at_disconnect(session, reason)

        def data_in(self, msg, session):
            return inst.data_in(msg, session)

        def data_out(self, session, messages):
            return list(inst.data_out(session, messages))

    return Export
