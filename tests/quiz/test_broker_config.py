"""The built-in broker's config for the game (quiz.live.broker_config), read as the broker
reads it."""

from pathlib import Path

from broker.auth import verify_passcode
from broker.config import BrokerConfig, load_config
from quiz.live.broker_config import STATUS_HISTORY_MESSAGES, broker_config


def read(toml: str, tmp_path: Path) -> BrokerConfig:
    path = tmp_path / "broker.toml"
    path.write_text(toml)
    return load_config(path)


def test_the_broker_takes_the_settings_publisher_admin_token_secret_and_history(
    settings, tmp_path: Path
) -> None:
    config = read(broker_config(tcp="127.0.0.1:61613", ws="127.0.0.1:15674"), tmp_path)
    assert (
        [user.login for user in config.users],
        config.http.admin_users,
        config.tokens.secret,
        [(history.pattern, history.max_messages) for history in config.history],
    ) == (
        [settings.STOMP_LOGIN, settings.STOMP_ADMIN_LOGIN],
        (settings.STOMP_ADMIN_LOGIN,),
        settings.STOMP_TOKEN_SECRET,
        [("/topic/games.*.status", STATUS_HISTORY_MESSAGES)],
    )


def test_a_tests_broker_gets_the_credentials_it_is_given(tmp_path: Path) -> None:
    config = read(
        broker_config(publisher=("pub", "pub-pass"), admin=("adm", "adm-pass"), token_secret="s"),
        tmp_path,
    )
    publisher, admin = config.users
    assert (publisher.login, admin.login, config.tokens.secret) == ("pub", "adm", "s")
    assert verify_passcode("pub-pass", publisher.passcode_hash)
