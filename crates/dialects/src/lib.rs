//! GitLab, Terraform Enterprise and ArcGIS requests translated to userql queries (issue 5).
#![deny(missing_docs)]
