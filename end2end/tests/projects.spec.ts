import { expect, test } from './fixtures/test';
import { DashboardPage, gotoHydrated, signUpAndSignIn, waitForHydration } from './fixtures/spaceport';

test('a user creates, renames and deletes a project, then signs out', async ({ page }) => {
  await signUpAndSignIn(page, 'projects');
  await waitForHydration(page);
  const dashboard = new DashboardPage(page);

  await dashboard.createProject('Hillside barn');
  const card = dashboard.card('Hillside barn');
  await expect(card).toBeVisible();
  await expect(card.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '5');
  await expect(card).toContainText('Draft');

  await card.getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Hillside barn' })).toBeVisible();
  await waitForHydration(page);

  await page.getByLabel('Project title').fill('North barn');
  await page.getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'North barn' })).toBeVisible();

  // Deleting asks first.
  await page.getByText('Delete this project…').click();
  await page.getByRole('button', { name: 'Yes, delete “North barn”' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText('No projects yet')).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('link', { name: 'Sign in' }).first()).toBeVisible();
  // The session is gone server-side too: the dashboard sends us to sign in.
  await gotoHydrated(page, '/dashboard');
  await expect(page).toHaveURL(/\/signin$/);
});
