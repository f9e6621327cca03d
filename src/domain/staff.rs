//! Staff roles and what each may do.

use serde::{Deserialize, Serialize};

/// A staff member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages staff accounts and may do everything an officer may.
    Admin,
    /// Procurement officer: creates, publishes, amends and cancels tenders.
    Officer,
    /// Supervisor: reads everything, including drafts; changes nothing.
    Supervisor,
    /// Evaluator: after the opening, may read bid documents.
    Evaluator,
}

impl Role {
    /// The role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::Supervisor => "supervisor",
            Role::Evaluator => "evaluator",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "officer" => Some(Role::Officer),
            "supervisor" => Some(Role::Supervisor),
            "evaluator" => Some(Role::Evaluator),
            _ => None,
        }
    }

    /// May this role change tenders (create, edit, publish, amend, cancel)?
    pub fn manages_tenders(self) -> bool {
        matches!(self, Role::Admin | Role::Officer)
    }

    /// May this role manage staff accounts?
    pub fn manages_staff(self) -> bool {
        self == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_permissions() {
        for r in [Role::Admin, Role::Officer, Role::Supervisor, Role::Evaluator] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::Admin.manages_staff());
        assert!(!Role::Officer.manages_staff());
        assert!(Role::Officer.manages_tenders());
        assert!(!Role::Supervisor.manages_tenders());
        assert!(!Role::Evaluator.manages_tenders());
    }
}
