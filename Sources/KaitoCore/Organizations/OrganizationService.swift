/// Creating organisations with their data key and first admin key (bootstrap and `kaito admin create-org`).
public struct OrganizationService: Sendable {
    let work: UnitOfWork
    let keyring: Keyring
    let keys: KeyService
    let clock: any KaitoClock
    let random: any RandomSource
    var storage: any Storage { work.storage }

    /// Organisations kept through `work`, their data keys made by `keyring` and their admin keys by `keys`.
    public init(work: UnitOfWork, keyring: Keyring, keys: KeyService, clock: any KaitoClock, random: any RandomSource) {
        self.work = work
        self.keyring = keyring
        self.keys = keys
        self.clock = clock
        self.random = random
    }

    /// Creates an organisation, its data key and an `org:admin` key, in one transaction.
    /// - Throws: `validation_failed` for a bad name, `conflict` when the name is taken.
    public func create(name: String, plan: Plan = .free, createdBy: String) async throws -> (Organization, APIKeySecret) {
        try Organization.validateName(name)
        let organization = Organization(
            id: Identifier.make(prefix: Organization.idPrefix, at: clock.now(), random: random),
            name: name, plan: plan, createdAt: clock.now()
        )
        return try await work.write { unit in
            let session = unit.session
            try await session.organizations.insert(organization)
            _ = try await keyring.createDataKey(organizationID: organization.id, session: session)
            let draft = KeyDraft(name: "\(name) admin", scopes: [.orgAdmin])
            let (_, secret) = try await keys.create(draft, organizationID: organization.id, createdBy: createdBy, session: session)
            try await unit.record(AuditRecord(.organizationCreate, target: .init(type: "org", id: organization.id)), by: .system(createdBy, in: organization.id))
            return (organization, secret)
        }
    }

    /// On an empty database, creates the organisation `default` and returns its first admin key; otherwise nil.
    public func bootstrapIfEmpty() async throws -> APIKeySecret? {
        let count = try await storage.read { session in try await session.organizations.count() }
        guard count == 0 else { return nil }
        do {
            return try await create(name: "default", createdBy: "bootstrap").1
        } catch let error as KaitoError where error.code == .conflict {
            return nil  // another server bootstrapped it first
        }
    }

    /// Finds an organisation by name or id (what operators type).
    public func find(_ nameOrID: String) async throws -> Organization {
        let found: Organization? = try await storage.read { session in
            if let byName = try await session.organizations.find(name: nameOrID) { return byName }
            return try await session.organizations.find(id: nameOrID)
        }
        guard let found else { throw KaitoError.notFound("The organisation '\(nameOrID)'") }
        return found
    }
}

extension OrganizationService {
    /// Creates a key as an operator (`kaito admin create-key`), with its audit event.
    public func createKeyAsOperator(_ draft: KeyDraft, in organization: Organization) async throws -> (APIKey, APIKeySecret) {
        let id = keys.newID()
        return try await work.write { unit in
            let created = try await keys.create(draft, organizationID: organization.id, createdBy: "operator", id: id, session: unit.session)
            try await unit.record(.key(.keyCreate, id), by: .operator(organization.id))
            return created
        }
    }
}

extension OrganizationService {
    /// Retires the key that the first start wrote to `bootstrap-admin.key` (`kaito admin rotate-bootstrap-key`):
    /// revokes every key the bootstrap created, each with its `key.revoke` event, and, with `replace`, creates a
    /// new `org:admin` key issued to nobody in the same transaction. Returns the revoked ids and the new key.
    public func retireBootstrapKey(_ nameOrID: String, replace: Bool) async throws -> (revoked: [String], replacement: APIKeySecret?) {
        let organization = try await find(nameOrID)
        let acting = Acting.operator(organization.id)
        return try await work.write { unit in
            let session = unit.session
            let revoked = try await session.keys.revokeCreated(by: "bootstrap", organizationID: organization.id, at: unit.now)
            for id in revoked {
                try await unit.record(AuditRecord(.keyRevoke, target: .init(type: "key", id: id), reason: "bootstrap key retired"), by: acting)
            }
            guard replace else { return (revoked, nil) }
            let id = keys.newID()
            // Recorded as the bootstrap key's successor, so that the next rotation retires it in turn.
            let (_, secret) = try await keys.create(
                KeyDraft(name: "\(organization.name) admin", scopes: [.orgAdmin]), organizationID: organization.id,
                createdBy: "bootstrap", id: id, session: session)
            try await unit.record(.key(.keyCreate, id), by: acting)
            return (revoked, secret)
        }
    }
}

extension OrganizationService {
    /// The requester's organisation.
    public func organization(by requester: Requester) async throws -> Organization {
        try await work.read(by: requester) { session in
            guard let organization = try await session.organizations.find(id: requester.organizationID) else { throw KaitoError.notFound("The organisation") }
            return organization
        }
    }

    /// Renames the requester's organisation, audited `org.update` with both names.
    /// - Throws: `validation_failed` for a missing or bad name; `not_found`; `conflict` when the name is taken.
    public func rename(to name: String?, by requester: Requester) async throws -> Organization {
        guard let name else { throw KaitoError.validation("name", "is required") }
        try Organization.validateName(name)
        let acting = requester.acting
        return try await work.write(by: requester) { unit in
            guard var organization = try await unit.session.organizations.find(id: requester.organizationID) else {
                throw KaitoError.notFound("The organisation")
            }
            try await unit.session.organizations.rename(id: organization.id, name: name)
            try await unit.record(
                AuditRecord(.organizationUpdate, target: .init(type: "org", id: organization.id), reason: "\(organization.name) -> \(name)"), by: acting)
            organization.name = name
            return organization
        }
    }
}
