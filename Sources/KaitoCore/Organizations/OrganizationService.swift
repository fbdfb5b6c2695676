/// Creating organisations with their data key and first admin key (bootstrap and `kaito admin create-org`).
public struct OrganizationService: Sendable {
    let storage: any Storage
    let keyring: Keyring
    let keys: KeyService
    let clock: any KaitoClock
    let random: any RandomSource

    public init(storage: any Storage, keyring: Keyring, keys: KeyService, clock: any KaitoClock, random: any RandomSource) {
        self.storage = storage
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
        return try await storage.write { session in
            try await session.organizations.insert(organization)
            _ = try await keyring.createDataKey(organizationID: organization.id, session: session)
            let draft = KeyDraft(name: "\(name) admin", scopes: [.orgAdmin])
            let (_, secret) = try await keys.create(draft, organizationID: organization.id, createdBy: createdBy, session: session)
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

    /// Changes an organisation's plan (`kaito admin set-plan`); takes effect at once for gating.
    public func setPlan(_ nameOrID: String, plan: Plan) async throws -> Organization {
        var organization = try await find(nameOrID)
        let id = organization.id
        try await storage.write { session in _ = try await session.organizations.setPlan(id: id, plan: plan) }
        organization.plan = plan
        return organization
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
