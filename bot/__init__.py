"""The Telegram side: aiogram bots, updates, replies. Importing the package imports aiogram with its models built on
first use (bot.lazy_aiogram), before any module here imports aiogram."""

from bot import lazy_aiogram

lazy_aiogram.install()
