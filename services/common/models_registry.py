"""Imports every domain's models so that Base.metadata holds all tables before Alembic runs."""

# Each domain adds its `models` import here, one line each, for example
#     import services.projects.models
# with a `noqa: F401` comment: the module is imported only for its side effect of
# registering its tables on services.common.db.Base.metadata.
import services.ai_job.models
import services.common.mail
import services.credits.models
import services.project.models
import services.user.models  # noqa: F401
