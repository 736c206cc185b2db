"""The course as data: typed models for `content/` and the one loader that validates them."""

from bot.content.loader import ContentError, load_content
from bot.content.models import Content

__all__ = ["Content", "ContentError", "load_content"]
