"""How allauth fits Telederm: no open sign-up, and a second factor only for those who need one."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Nobody signs up with an e-mail alone: an identity must be known first.

        Accounts come from an operator, from an ID-porten or HelseID sign-in (which prove who the
        person is), or from a case access grant; see docs/adr/0009-sign-in.md.
        """
        return False
