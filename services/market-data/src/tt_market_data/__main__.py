"""``python -m tt_market_data``: run the market-data service."""

from tt_runtime.service import serve

from .app import create_app
from .settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
