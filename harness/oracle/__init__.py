"""The oracle: fixture arrangement and state reads over Bitbucket REST, with an OAuth consumer's credentials."""

from harness.oracle.bitbucket import Arranged, ArrangedRepo, Oracle, OracleConfig, OracleError

__all__ = ["Arranged", "ArrangedRepo", "Oracle", "OracleConfig", "OracleError"]
