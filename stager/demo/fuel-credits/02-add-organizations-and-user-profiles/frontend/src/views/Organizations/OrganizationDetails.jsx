import { useParams } from 'react-router-dom'
import { useOrganization } from '../../hooks/useOrganization'

export function OrganizationDetails() {
  const { id } = useParams()
  const { data: organization, isLoading, error } = useOrganization(id)

  if (isLoading) return <p>Loading…</p>
  if (error) return <p role="alert">Could not load the organization.</p>

  return (
    <section>
      <h1>{organization.name}</h1>
      <dl>
        <dt>Registration number</dt>
        <dd>{organization.registrationNumber}</dd>
        <dt>Address</dt>
        <dd>{organization.streetAddress}, {organization.city}</dd>
      </dl>
    </section>
  )
}
