"""paysim.v1.AuthService."""

from __future__ import annotations

from typing import Any

import grpc
from paysim_proto.v1 import auth_pb2, auth_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.api.request_metadata import client_address
from paysim.contract import identity_messages
from paysim.contract.timestamps import timestamp
from paysim.services.accounts import AccountService, Tokens

Context = grpc.aio.ServicerContext[Any, Any]


def _tokens(t: Tokens) -> auth_pb2.TokenPair:
    return auth_pb2.TokenPair(
        access_token=t.access_token,
        access_token_expire_time=timestamp(t.access_expires_at),
        refresh_token=t.refresh_token,
        refresh_token_expire_time=timestamp(t.refresh_expires_at),
        token_type="Bearer",
    )


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, accounts: AccountService) -> None:
        self._accounts = accounts

    async def Register(self, request: auth_pb2.RegisterRequest, context: Context) -> auth_pb2.RegisterResponse:
        user = await self._accounts.register_customer(request.email, request.password, request.full_name)
        return auth_pb2.RegisterResponse(user=identity_messages.user(user))

    async def Login(self, request: auth_pb2.LoginRequest, context: Context) -> auth_pb2.LoginResponse:
        user, tokens = await self._accounts.login(
            request.email, request.password, client_address=client_address(context)
        )
        return auth_pb2.LoginResponse(tokens=_tokens(tokens), user=identity_messages.user(user))

    async def RefreshToken(
        self, request: auth_pb2.RefreshTokenRequest, context: Context
    ) -> auth_pb2.RefreshTokenResponse:
        return auth_pb2.RefreshTokenResponse(tokens=_tokens(await self._accounts.refresh(request.refresh_token)))

    async def Logout(self, request: auth_pb2.LogoutRequest, context: Context) -> auth_pb2.LogoutResponse:
        await self._accounts.logout(request.refresh_token)
        return auth_pb2.LogoutResponse()

    async def GetCurrentUser(
        self, request: auth_pb2.GetCurrentUserRequest, context: Context
    ) -> auth_pb2.GetCurrentUserResponse:
        principal = require_principal()
        user = await self._accounts.current_user(principal)
        return auth_pb2.GetCurrentUserResponse(
            user=identity_messages.user(user) if user else None,
            role=identity_messages.ROLE_TO_PROTO[principal.role],
            merchant_id=principal.merchant_id or "",
            credential_kind=identity_messages.CREDENTIAL_TO_PROTO[principal.kind],
            api_key_id=principal.api_key_id or "",
        )

    async def ChangePassword(
        self, request: auth_pb2.ChangePasswordRequest, context: Context
    ) -> auth_pb2.ChangePasswordResponse:
        await self._accounts.change_password(require_principal(), request.current_password, request.new_password)
        return auth_pb2.ChangePasswordResponse()
