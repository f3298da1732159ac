const BASE_URL = import.meta.env.VITE_API_URL ?? '/api'

export async function apiGet(path) {
  const response = await fetch(`${BASE_URL}${path}`)
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`)
  return response.json()
}

export async function apiPatch(path, body) {
  const response = await fetch(`${BASE_URL}${path}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body)
  })
  if (!response.ok) throw new Error(`PATCH ${path}: ${response.status}`)
  return response.json()
}
