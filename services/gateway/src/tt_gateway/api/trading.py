"""JSON API: trading (being built)."""

from fastapi import APIRouter

router = APIRouter()
