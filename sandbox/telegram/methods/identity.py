"""Who the bot is: getMe and the bot's command list."""

from __future__ import annotations

import re
from typing import Any

from ..errors import bad_request
from .registry import Call, method

_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


@method("getMe")
async def get_me(call: Call) -> Any:
    return {
        **call.bot.user.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": call.bot.inline_mode,
    }


@method("setMyCommands")
async def set_my_commands(call: Call) -> Any:
    commands = call.params.json("commands", "bot commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _BOT_COMMAND.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    call.bot.commands = commands
    return True


@method("getMyCommands")
async def get_my_commands(call: Call) -> Any:
    return call.bot.commands


@method("deleteMyCommands")
async def delete_my_commands(call: Call) -> Any:
    call.bot.commands = []
    return True
