from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """For work after the response: the request's own session is closed by then."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


SessionFactory = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
