import { expect, test } from './fixtures/test';
import { invite, PASSWORD, SignInPage, uniqueEmail, WelcomePage } from './fixtures/spaceport';

test('an invited user signs in, must choose a password and a handle, and lands on the dashboard', async ({ page }) => {
  const email = uniqueEmail('first');
  const temporary = invite(email);
  const signIn = new SignInPage(page);
  await signIn.open();

  // A wrong password is explained inline, and nothing else happens.
  await signIn.signIn(email, 'definitely not it');
  await expect(page.getByRole('alert')).toContainText("don't match an account");
  await expect(page).toHaveURL(/\/signin$/);

  await signIn.signIn(email, temporary);
  await expect(page).toHaveURL(/\/welcome$/);
  const welcome = new WelcomePage(page);

  // Inline validation of a too-short password.
  await welcome.complete('skypilot', 'short');
  await expect(page.locator('#password-error')).toContainText('at least 10 characters');

  await welcome.complete(`pilot${Date.now() % 100000}`, PASSWORD);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole('heading', { name: 'Your projects' })).toBeVisible();
  await expect(page.locator('.who')).toContainText('@pilot');
});
